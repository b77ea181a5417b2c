import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Endpoint from "../src/Endpoint.ts"

const parse = (input: string) => Effect.runSync(Effect.result(Endpoint.parse(input)))
const ok = (input: string) => {
  const result = parse(input)
  if (result._tag === "Failure") throw new Error(result.failure.message)
  return result.success
}
const fail = (input: string) => {
  const result = parse(input)
  if (result._tag === "Success") throw new Error(`expected ${input} to be refused`)
  return result.failure
}

describe("Endpoint.parse", () => {
  it("http with host and port", () => {
    expect(ok("http://127.0.0.1:49153")).toEqual({
      _tag: "Tcp",
      input: "http://127.0.0.1:49153",
      secure: false,
      hostname: "127.0.0.1",
      port: 49153,
      baseUrl: "http://127.0.0.1:49153"
    })
  })

  it("default ports, path prefixes and trailing slashes", () => {
    expect(ok("http://fleet.example")).toMatchObject({ port: 80, baseUrl: "http://fleet.example" })
    expect(ok("https://fleet.example/")).toMatchObject({ port: 443, secure: true, baseUrl: "https://fleet.example" })
    expect(ok("https://fleet.example:8443/proxy/fleet/")).toMatchObject({
      port: 8443,
      baseUrl: "https://fleet.example:8443/proxy/fleet"
    })
  })

  it("IPv6 literals", () => {
    expect(ok("http://[::1]:49153")).toMatchObject({ hostname: "::1", port: 49153, baseUrl: "http://[::1]:49153" })
  })

  it("fleetctl's unix:// form", () => {
    expect(ok("unix:///var/run/fleet.sock")).toEqual({
      _tag: "Unix",
      input: "unix:///var/run/fleet.sock",
      socketPath: "/var/run/fleet.sock",
      baseUrl: "http://localhost"
    })
  })

  it("python-fleet's http+unix:// form, with and without a prefix", () => {
    expect(ok("http+unix://%2Fvar%2Frun%2Ffleet.sock")).toMatchObject({
      _tag: "Unix",
      socketPath: "/var/run/fleet.sock",
      baseUrl: "http://localhost"
    })
    expect(ok("http+unix://%2Ftmp%2Fa%20b.sock/prefix/")).toMatchObject({
      socketPath: "/tmp/a b.sock",
      baseUrl: "http://localhost/prefix"
    })
  })

  it("refuses what it cannot use, naming the endpoint", () => {
    for (const input of [
      "ftp://example.com",
      "127.0.0.1:49153",
      "http://",
      "unix://relative.sock",
      "http+unix:///var/run/fleet.sock",
      "http+unix://%E0%A4%A",
      "http://h:1/?q=1"
    ]) {
      const error = fail(input)
      expect(error._tag).toBe("ValueError")
      expect(error.message).toContain(input)
    }
    expect(fail("ftp://example.com").message).toContain(`unsupported scheme "ftp"`)
    // credentials are refused without being repeated
    const credentials = fail("https://admin:s3cret@fleet.example.com")
    expect(credentials.message).toBe(
      "Invalid fleet endpoint https://***@fleet.example.com: credentials in the URL are not supported"
    )
  })
})
