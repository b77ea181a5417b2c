/**
 * The one rule by which an endpoint URL, a base URL or an SSH tunnel address is rendered anywhere (error messages,
 * logs, span attributes): everything between the scheme's `//` and the LAST `@` is credentials and becomes `***`.
 *
 * The last `@`, not the first, and not the first `@` before a `/`: a password may hold `/`, `?`, `#` or `@`
 * (`http://admin:pa55/word@host`, `http://admin:a@tail@host`), and such a URL does not even parse, so nothing but
 * the raw text tells where the credentials end. A path that holds an `@` is over-redacted (`http://host/p@x`
 * renders `http://***@x`): showing too little is the safe side.
 */

// Fullwidth and small commercial ats: IDNA maps them to "@", so a host spelled with one hides credentials too.
const atSigns = ["@", "\uFF20", "\uFE6B"]

// A scheme followed by any run of slashes or backslashes (WHATWG accepts `http:/host` and `http:\\host`).
const schemeAndSlashes = /^[a-zA-Z][a-zA-Z0-9+.-]*:[/\\]+/

const lastAt = (text: string): number => Math.max(...atSigns.map((at) => text.lastIndexOf(at)))

/** Where the credentials would start: after `scheme://`, else (no scheme, or `http:user@host`) at the beginning. */
const authorityStart = (text: string): number => schemeAndSlashes.exec(text)?.[0].length ?? 0

/**
 * `input` with everything between `//` (or the start, when there is none) and the last `@` replaced by `***`;
 * unchanged when it holds no `@`. Works on any string, URL or not.
 *
 * @since 0.2.0
 * @internal
 */
export const redactUrl = (input: string): string => {
  const at = lastAt(input)
  if (at === -1) return input
  const start = authorityStart(input)
  if (at < start) return input
  return `${input.slice(0, start)}***${input.slice(at)}`
}

/**
 * Whether a URL carries credentials: for an `http:` or `https:` URL that parses, whether the WHATWG parser finds a
 * username or password (so that `http://host/p@x` passes); for anything else, whether {@link redactUrl} would hide
 * something (a password holding `/` breaks the parse; `admin:secret@host` parses as the scheme `admin:`).
 *
 * @since 0.2.0
 * @internal
 */
export const hasCredentials = (input: string): boolean => {
  let url: URL | undefined
  try {
    url = new URL(input)
  } catch {
    url = undefined
  }
  if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:")) return redactUrl(input) !== input
  return url.username !== "" || url.password !== ""
}
