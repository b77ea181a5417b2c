import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import * as PageToken from "../src/internal/server/pageToken.ts"

const decodeError = (value: string, limit = 100) => {
  const result = PageToken.decode(value, limit)
  if (Result.isSuccess(result)) throw new Error(`expected ${value} to be refused`)
  return result.failure
}

describe("pageToken", () => {
  it("encodes fleet's tokens: LE uint16 limit, LE uint16 page, URL-safe base64 with padding", () => {
    expect(PageToken.encode({ limit: 100, page: 2 })).toBe("ZAACAA==")
    expect(PageToken.encode({ limit: 3, page: 1 })).toBe("AwABAA==")
    expect(PageToken.encode({ limit: 0xfbff, page: 0xfffe })).toBe("__v-_w==")
  })

  it("decodes what it encodes", () => {
    for (const token of [
      { limit: 100, page: 1 },
      { limit: 100, page: 65535 },
      { limit: 3, page: 257 }
    ]) {
      expect(PageToken.decode(PageToken.encode(token), token.limit)).toEqual(Result.succeed(token))
    }
  })

  it("reports Go's base64 errors at Go's byte offsets", () => {
    expect(decodeError("ZAACAA")).toBe("illegal base64 data at input byte 4")
    expect(decodeError("Z")).toBe("illegal base64 data at input byte 0")
    expect(decodeError("ZA")).toBe("illegal base64 data at input byte 0")
    expect(decodeError("ZAA")).toBe("illegal base64 data at input byte 0")
    expect(decodeError("ZAACAA=")).toBe("illegal base64 data at input byte 7")
    expect(decodeError("ZAACAA==ZA==")).toBe("illegal base64 data at input byte 8")
    expect(decodeError("ZAAC+A==")).toBe("illegal base64 data at input byte 4")
    expect(decodeError("ZAAC/A==")).toBe("illegal base64 data at input byte 4")
    expect(decodeError("=AAA")).toBe("illegal base64 data at input byte 0")
    expect(decodeError("Z=AA")).toBe("illegal base64 data at input byte 1")
    expect(decodeError("ZA=A")).toBe("illegal base64 data at input byte 2")
    expect(decodeError("ZAACAA== ")).toBe("illegal base64 data at input byte 8")
  })

  it("ignores newlines inside the base64 text, as Go does", () => {
    expect(PageToken.decode("ZAAC\nAA==", 100)).toEqual(Result.succeed({ limit: 100, page: 2 }))
    expect(PageToken.decode("ZA\r\nACAA==\n", 100)).toEqual(Result.succeed({ limit: 100, page: 2 }))
  })

  it("reports short data as binary.Read does and validates limit and page", () => {
    expect(decodeError("")).toBe("EOF")
    expect(decodeError("ZA==")).toBe("unexpected EOF")
    expect(decodeError("ZAAC")).toBe("unexpected EOF")
    expect(decodeError("ZAACAA==", 3)).toBe("token limit must be 3")
    expect(decodeError("ZAAAAA==")).toBe("token page must be greater than zero")
    // Bytes after the fourth are ignored.
    expect(PageToken.decode("ZAACAAAA", 100)).toEqual(Result.succeed({ limit: 100, page: 2 }))
  })

  it("slices pages and offers a next token whenever a page is full", () => {
    const items = [1, 2, 3, 4, 5, 6]
    expect(PageToken.slice(items, { limit: 3, page: 1 })).toEqual({ items: [1, 2, 3], next: "AwACAA==" })
    expect(PageToken.slice(items, { limit: 3, page: 2 })).toEqual({ items: [4, 5, 6], next: "AwADAA==" })
    expect(PageToken.slice(items, { limit: 3, page: 3 })).toEqual({ items: [], next: undefined })
    expect(PageToken.slice(items, { limit: 4, page: 2 })).toEqual({ items: [5, 6], next: undefined })
  })
})
