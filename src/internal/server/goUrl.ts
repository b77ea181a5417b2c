/**
 * Request targets as Go's `net/url` and `net/http` see them: unescaping, query parsing, and ServeMux's path
 * cleaning with its 301 redirects and its 400 for a target it cannot parse.
 *
 * @since 0.2.0
 * @internal
 */
import * as GoString from "../goString.ts"
import { respond, type WireRequest, type WireResponse } from "./wire.ts"

const hexValue = (char: string | undefined): number =>
  char !== undefined && /^[0-9a-fA-F]$/.test(char) ? Number.parseInt(char, 16) : -1

/**
 * Go's `url.PathUnescape` / `url.QueryUnescape`; `undefined` for a malformed escape.
 *
 * @since 0.2.0
 * @internal
 */
export const goUnescape = (text: string, query: boolean): string | undefined => {
  if (!text.includes("%") && !(query && text.includes("+"))) return text
  const bytes: Array<number> = []
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!
    if (char === "%") {
      const high = hexValue(text[i + 1])
      const low = hexValue(text[i + 2])
      if (high < 0 || low < 0) return undefined
      bytes.push(high * 16 + low)
      i += 2
    } else if (query && char === "+") bytes.push(0x20)
    else bytes.push(...Buffer.from(char, "utf8"))
  }
  // Go's strings are bytes: an escape that is not UTF-8 stays a byte of the name (its length, its %q).
  return GoString.decodeBytes(Uint8Array.from(bytes))
}

/**
 * A parsed query: every value of every key, in order.
 *
 * @since 0.2.0
 * @internal
 */
export type Query = ReadonlyMap<string, ReadonlyArray<string>>

/**
 * Go's `url.ParseQuery` as fleet's reference build (Go 1.19) runs it: `&` separates pairs; a pair holding a `;`
 * or a malformed escape is dropped (Go reports an error that fleet never looks at).
 *
 * @since 0.2.0
 * @internal
 */
export const parseQuery = (rawQuery: string): Query => {
  const query = new Map<string, Array<string>>()
  for (const pair of rawQuery.split("&")) {
    if (pair === "" || pair.includes(";")) continue
    const equals = pair.indexOf("=")
    const key = goUnescape(equals === -1 ? pair : pair.slice(0, equals), true)
    const value = goUnescape(equals === -1 ? "" : pair.slice(equals + 1), true)
    if (key === undefined || value === undefined) continue
    const values = query.get(key)
    if (values === undefined) query.set(key, [value])
    else values.push(value)
  }
  return query
}

/** Go's `path.Clean`. */
const cleanPath = (path: string): string => {
  const parts: Array<string> = []
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue
    if (part === "..") parts.pop()
    else parts.push(part)
  }
  return "/" + parts.join("/")
}

/**
 * ServeMux's `cleanPath`: rooted, cleaned, trailing slash kept.
 *
 * @since 0.2.0
 * @internal
 */
export const muxCleanPath = (path: string): string => {
  if (path === "") return "/"
  const rooted = path.startsWith("/") ? path : "/" + path
  const cleaned = cleanPath(rooted)
  return rooted.endsWith("/") && cleaned !== "/" ? cleaned + "/" : cleaned
}

/**
 * Go's `url.EscapedPath` of a path it had to re-escape.
 *
 * @since 0.2.0
 * @internal
 */
export const escapePath = (path: string): string => {
  let out = ""
  for (const byte of GoString.encodeBytes(path)) {
    const char = String.fromCharCode(byte)
    out += /^[A-Za-z0-9\-_.~$&+,/:;=@]$/.test(char) ? char : "%" + byte.toString(16).toUpperCase().padStart(2, "0")
  }
  return out
}

const htmlEscape = (text: string): string =>
  text.replace(/[&<>"']/g, (char) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;" })[char]!)

/**
 * ServeMux's 301 to the cleaned path (`http.Redirect`: an HTML body for `GET` only).
 *
 * @since 0.2.0
 * @internal
 */
export const redirect = (request: WireRequest, location: string): WireResponse => {
  if (request.method === "GET" || request.method === "HEAD") {
    const body = request.method === "GET" ? `<a href="${htmlEscape(location)}">Moved Permanently</a>.\n\n` : ""
    return respond(request, 301, body, { Location: location, "Content-Type": "text/html; charset=utf-8" })
  }
  return respond(request, 301, "", { Location: location })
}

/**
 * What Go's HTTP server answers for a request target it cannot parse, before any handler runs.
 *
 * @since 0.2.0
 * @internal
 */
export const badRequest = (request: WireRequest): WireResponse => ({
  ...respond(
    request,
    400,
    "400 Bad Request",
    { "Content-Type": "text/plain; charset=utf-8", Connection: "close" },
    false
  ),
  // Go writes this answer straight to the connection: no Content-Length, and the body even for HEAD.
  raw: "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request"
})

/**
 * A request target split as Go's server splits it: the unescaped path (`undefined` when it cannot be unescaped), the
 * raw query. An absolute-form target loses its scheme and host. A `#` is kept, in the path or the query, as Go's
 * `url.ParseRequestURI` keeps it (clients never send fragments, so whatever follows one is data).
 *
 * @since 0.2.0
 * @internal
 */
export const splitTarget = (url: string): { readonly path: string | undefined; readonly rawQuery: string } => {
  let target = url
  const absolute = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/]*/.exec(target)
  if (absolute !== null) target = target.slice(absolute[0].length) || "/"
  const mark = target.indexOf("?")
  const rawPath = mark === -1 ? target : target.slice(0, mark)
  return { path: goUnescape(rawPath, false), rawQuery: mark === -1 ? "" : target.slice(mark + 1) }
}
