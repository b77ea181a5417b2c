/**
 * fleet's page tokens: URL-safe base64 (with padding) of four bytes, a little-endian uint16 page size and a
 * little-endian uint16 page number (1-based). Decoding reproduces the messages of Go's `encoding/base64` and
 * `encoding/binary`, which fleet forwards verbatim in its 400 answers.
 *
 * @since 0.1.0
 * @internal
 */
import { Result } from "effect"

/**
 * A decoded page token.
 *
 * @since 0.1.0
 * @internal
 */
export interface PageToken {
  readonly limit: number
  readonly page: number
}

/**
 * fleetd's default page size (`token_limit`).
 *
 * @since 0.1.0
 * @internal
 */
export const defaultTokenLimit = 100

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

const decodeMap: ReadonlyMap<string, number> = new Map(Array.from(alphabet, (char, index) => [char, index]))

/**
 * Encodes a token as fleet does.
 *
 * @since 0.1.0
 * @internal
 */
export const encode = (token: PageToken): string => {
  const bytes = Buffer.alloc(4)
  bytes.writeUInt16LE(token.limit & 0xffff, 0)
  bytes.writeUInt16LE(token.page & 0xffff, 2)
  return bytes.toString("base64").replace(/\+/g, "-").replace(/\//g, "_")
}

const corrupt = (index: number): Result.Result<never, string> =>
  Result.fail(`illegal base64 data at input byte ${index}`)

const isNewline = (char: string | undefined): boolean => char === "\n" || char === "\r"

/**
 * Go's `base64.URLEncoding.DecodeString`, quantum by quantum, so that the reported byte offsets are Go's.
 *
 * @since 0.1.0
 * @internal
 */
export const decodeBase64 = (src: string): Result.Result<Uint8Array, string> => {
  const out: Array<number> = []
  let si = 0
  while (si < src.length) {
    const quantum = [0, 0, 0, 0]
    let dlen = 4
    let trailing: number | undefined
    let j = 0
    for (; j < 4; j++) {
      if (si === src.length) {
        if (j === 0) return Result.succeed(Uint8Array.from(out))
        // Padding is mandatory with URLEncoding: a short final quantum is corrupt.
        return corrupt(si - j)
      }
      const char = src[si]!
      si++
      const value = decodeMap.get(char)
      if (value !== undefined) {
        quantum[j] = value
        continue
      }
      if (isNewline(char)) {
        j--
        continue
      }
      if (char !== "=") return corrupt(si - 1)
      if (j === 0 || j === 1) return corrupt(si - 1)
      if (j === 2) {
        while (si < src.length && isNewline(src[si])) si++
        if (si === src.length) return corrupt(src.length)
        if (src[si] !== "=") return corrupt(si - 1)
        si++
      }
      while (si < src.length && isNewline(src[si])) si++
      if (si < src.length) trailing = si
      dlen = j
      break
    }
    const value = (quantum[0]! << 18) | (quantum[1]! << 12) | (quantum[2]! << 6) | quantum[3]!
    const bytes = [(value >> 16) & 0xff, (value >> 8) & 0xff, value & 0xff]
    out.push(...bytes.slice(0, dlen - 1))
    if (trailing !== undefined) return corrupt(trailing)
    if (dlen < 4) break
  }
  return Result.succeed(Uint8Array.from(out))
}

/**
 * Decodes and validates a token the way fleet does, failing with fleet's message.
 *
 * @since 0.1.0
 * @internal
 */
export const decode = (value: string, limit: number): Result.Result<PageToken, string> => {
  const decoded = decodeBase64(value)
  if (Result.isFailure(decoded)) return Result.fail(decoded.failure)
  const bytes = decoded.success
  // binary.Read reads exactly four bytes: none is EOF, some is unexpected EOF, extra bytes are ignored.
  if (bytes.length === 0) return Result.fail("EOF")
  if (bytes.length < 4) return Result.fail("unexpected EOF")
  const token: PageToken = { limit: bytes[0]! | (bytes[1]! << 8), page: bytes[2]! | (bytes[3]! << 8) }
  if (token.limit !== limit) return Result.fail(`token limit must be ${limit}`)
  if (token.page === 0) return Result.fail("token page must be greater than zero")
  return Result.succeed(token)
}

/**
 * The first page of a listing.
 *
 * @since 0.1.0
 * @internal
 */
export const first = (limit: number): PageToken => ({ limit, page: 1 })

/**
 * One page of `items` and the token of the next page, present whenever this page was full (so an exact multiple ends
 * with an empty page, as in fleet).
 *
 * fleet computes the bounds in its token's uint16 fields, so they wrap around: a large page number can land on a
 * real page again (and its next token is that page number plus one, wrapping too). A page whose end wraps below its
 * start (a listing past 65,535 - page size items) makes Go's slice expression panic, and fleet drops the
 * connection: that is `overflow` here, which the API answers with an error (a deviation the README lists), so that a
 * listing fails there instead of running on through the wrapped pages.
 *
 * @since 0.1.0
 * @internal
 */
export const slice = <A>(
  items: ReadonlyArray<A>,
  token: PageToken
): { readonly items: ReadonlyArray<A>; readonly next: string | undefined } | "overflow" => {
  const start = ((token.page - 1) * token.limit) & 0xffff
  let stop = (token.page * token.limit) & 0xffff
  if (start >= items.length) return { items: [], next: undefined }
  if (stop < start) return "overflow"
  let next: string | undefined
  if (stop > items.length) stop = items.length
  else next = encode({ limit: token.limit, page: (token.page + 1) & 0xffff })
  return { items: items.slice(start, stop), next }
}

/**
 * The local server's answer to a page that overflows fleet's 16-bit bounds (fleet itself panics and drops the
 * connection).
 *
 * @since 0.2.0
 * @internal
 */
export const overflowMessage = (token: PageToken): string =>
  `page ${token.page} of ${token.limit} items ends past item 65,535: fleet computes page bounds in 16 bits and cannot list further`
