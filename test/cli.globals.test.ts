/**
 * The CLI's global options: FLEETCTL_* variables as fleetctl reads them (a flag wins, an empty or unparsable value is
 * ignored), `--driver etcd` refused, and the real bin's exit codes.
 */
import { execFile } from "node:child_process"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Option from "effect/Option"
import { resolve } from "../src/cli/globals.ts"
import { effectFleet, localServer, type Server } from "./support/fleetctl.ts"

const none = {
  endpoint: Option.none(),
  driver: Option.none(),
  tunnel: Option.none(),
  knownHostsFile: Option.none(),
  strictHostKeyChecking: Option.none(),
  sshUsername: Option.none(),
  sshTimeout: Option.none(),
  requestTimeout: Option.none(),
  caFile: Option.none(),
  certFile: Option.none(),
  keyFile: Option.none(),
  debug: Option.none()
} as const

const withEnv = async <A>(env: Record<string, string>, f: () => Promise<A>): Promise<A> => {
  const saved = { ...process.env }
  Object.assign(process.env, env)
  try {
    return await f()
  } finally {
    for (const key of Object.keys(env)) delete process.env[key]
    Object.assign(process.env, saved)
  }
}

describe("global options", () => {
  it("defaults are fleetctl's", () => {
    expect(resolve(none, {})).toEqual({
      endpoint: "unix:///var/run/fleet.sock",
      driver: "API",
      tunnel: "",
      knownHostsFile: "~/.fleetctl/known_hosts",
      strictHostKeyChecking: true,
      sshUsername: "core",
      sshTimeout: 10,
      requestTimeout: 3,
      caFile: "",
      certFile: "",
      keyFile: "",
      debug: false
    })
  })

  it("every FLEETCTL_* variable is read; a flag wins over its variable", () => {
    const env = {
      FLEETCTL_ENDPOINT: "http://10.0.0.1:49153",
      FLEETCTL_DRIVER: "API",
      FLEETCTL_TUNNEL: "bastion",
      FLEETCTL_KNOWN_HOSTS_FILE: "/tmp/kh",
      FLEETCTL_STRICT_HOST_KEY_CHECKING: "false",
      FLEETCTL_SSH_USERNAME: "admin",
      FLEETCTL_SSH_TIMEOUT: "2.5",
      FLEETCTL_REQUEST_TIMEOUT: "1.5",
      FLEETCTL_CA_FILE: "/ca",
      FLEETCTL_CERT_FILE: "/cert",
      FLEETCTL_KEY_FILE: "/key",
      FLEETCTL_DEBUG: "true"
    }
    expect(resolve(none, env)).toEqual({
      endpoint: "http://10.0.0.1:49153",
      driver: "API",
      tunnel: "bastion",
      knownHostsFile: "/tmp/kh",
      strictHostKeyChecking: false,
      sshUsername: "admin",
      sshTimeout: 2.5,
      requestTimeout: 1.5,
      caFile: "/ca",
      certFile: "/cert",
      keyFile: "/key",
      debug: true
    })
    const flagged = resolve(
      { ...none, endpoint: Option.some("http://flag:1"), strictHostKeyChecking: Option.some(true) },
      env
    )
    expect(flagged.endpoint).toBe("http://flag:1")
    expect(flagged.strictHostKeyChecking).toBe(true)
  })

  it("an empty or unparsable variable is ignored, as pflag ignores a failed Set", () => {
    const g = resolve(none, { FLEETCTL_ENDPOINT: "", FLEETCTL_REQUEST_TIMEOUT: "soon", FLEETCTL_DEBUG: "maybe" })
    expect(g.endpoint).toBe("unix:///var/run/fleet.sock")
    expect(g.requestTimeout).toBe(3)
    expect(g.debug).toBe(false)
  })

  describe("against the local server", () => {
    let server: Server
    beforeAll(async () => {
      server = await localServer({ machines: [{ id: "m1", primaryIP: "10.0.0.9" }] })
    })
    afterAll(() => server?.close())

    it("FLEETCTL_ENDPOINT reaches the server; --endpoint overrides it", async () => {
      const viaEnv = await withEnv({ FLEETCTL_ENDPOINT: server.url }, () => effectFleet(["list-machines"]))
      expect(viaEnv).toEqual({ stdout: "MACHINE\tIP\t\tMETADATA\nm1...\t10.0.0.9\t-\n", stderr: "", code: 0 })
      const overridden = await withEnv({ FLEETCTL_ENDPOINT: "http://127.0.0.1:1" }, () =>
        effectFleet(["--endpoint", server.url, "list-machines", "--no-legend"])
      )
      expect(overridden.code).toBe(0)
    })

    it("--driver etcd and FLEETCTL_DRIVER=etcd are refused with a clear message, exit 1", async () => {
      const flag = await effectFleet(["--driver", "etcd", "--endpoint", server.url, "list-units"])
      expect(flag.code).toBe(1)
      expect(flag.stdout).toBe("")
      expect(flag.stderr).toMatch(
        /^Unable to initialize client: the etcd driver is not supported: effect-fleet speaks only the fleet API/
      )
      const env = await withEnv({ FLEETCTL_DRIVER: "etcd" }, () =>
        effectFleet(["--endpoint", server.url, "list-units"])
      )
      expect(env).toEqual(flag)
      const other = await effectFleet(["--driver", "grpc", "--endpoint", server.url, "list-units"])
      expect(other).toEqual({
        stdout: "",
        stderr: 'Unable to initialize client: unrecognized driver "grpc"\n',
        code: 1
      })
    })

    it("an unreadable --ca-file is a client initialization error", async () => {
      const result = await effectFleet(["--ca-file", "/nonexistent/ca.pem", "--endpoint", server.url, "list-units"])
      expect(result).toEqual({
        stdout: "",
        stderr: "Unable to initialize client: open /nonexistent/ca.pem: no such file or directory\n",
        code: 1
      })
    })

    it("the bin exits with the command's code", async () => {
      const bin = path.resolve(import.meta.dirname, "../bin/effect-fleet.js")
      const code = await new Promise<number>((done) =>
        execFile(process.execPath, [bin, "--endpoint", server.url, "cat", "nope"], (error) =>
          done(error === null ? 0 : (error.code as number))
        )
      )
      expect(code).toBe(1)
    })
  })
})
