import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Layer, Redacted } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Fleet from "../src/Fleet.ts"
import { readTls } from "../src/internal/client/config.ts"
import { httpResponse, rawServer } from "./support/rawServer.ts"
import { type Sshd, sshdAvailable, startAgent, startSshd } from "./support/sshd.ts"
import { makePki, type Pki, tlsProxy } from "./support/tls.ts"

const unitJson = JSON.stringify({ name: "a.service", desiredState: "launched", currentState: "launched" })

const parse = (env: Record<string, string>) => Fleet.fleetctlConfig.parse(ConfigProvider.fromEnv({ env }))

const withEnv = (env: Record<string, string>, options: Fleet.LayerOptions = {}) =>
  Fleet.layerConfig(options).pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env }))))

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "effect-fleet-config-"))
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))

describe("Fleet.fleetctlConfig", () => {
  it.effect("defaults: fleetctl's endpoint, nothing else set", () =>
    Effect.gen(function* () {
      const config = yield* parse({})
      expect(config).toEqual({
        endpoint: "unix:///var/run/fleet.sock",
        tunnel: undefined,
        sshUsername: undefined,
        sshTimeout: undefined,
        knownHostsFile: undefined,
        strictHostKeyChecking: undefined,
        caFile: undefined,
        certFile: undefined,
        keyFile: undefined,
        requestTimeout: undefined,
        sshAuthSock: undefined
      })
    })
  )

  it.effect("reads every variable", () =>
    Effect.gen(function* () {
      const config = yield* parse({
        FLEETCTL_ENDPOINT: "https://10.0.0.5:49153",
        FLEETCTL_TUNNEL: "10.0.0.6:2222",
        FLEETCTL_SSH_USERNAME: "admin",
        FLEETCTL_SSH_TIMEOUT: "2.5",
        FLEETCTL_KNOWN_HOSTS_FILE: "/etc/fleet/known_hosts",
        FLEETCTL_STRICT_HOST_KEY_CHECKING: "false",
        FLEETCTL_CA_FILE: "/etc/fleet/ca.pem",
        FLEETCTL_CERT_FILE: "/etc/fleet/cert.pem",
        FLEETCTL_KEY_FILE: "/etc/fleet/key.pem",
        FLEETCTL_REQUEST_TIMEOUT: "10",
        SSH_AUTH_SOCK: "/tmp/agent.sock"
      })
      expect(config.endpoint).toBe("https://10.0.0.5:49153")
      expect(config.tunnel).toBe("10.0.0.6:2222")
      expect(config.sshUsername).toBe("admin")
      expect(Duration.toMillis(config.sshTimeout!)).toBe(2500)
      expect(config.knownHostsFile).toBe("/etc/fleet/known_hosts")
      expect(config.strictHostKeyChecking).toBe(false)
      expect(config.caFile).toBe("/etc/fleet/ca.pem")
      expect(config.certFile).toBe("/etc/fleet/cert.pem")
      expect(config.keyFile).toBe("/etc/fleet/key.pem")
      expect(Duration.toMillis(config.requestTimeout!)).toBe(10_000)
      expect(config.sshAuthSock).toBe("/tmp/agent.sock")
    })
  )

  it.effect("strict host key checking: true, false or accept-new, in fleetctl's boolean spellings", () =>
    Effect.gen(function* () {
      const strict = (value: string) =>
        Effect.map(parse({ FLEETCTL_STRICT_HOST_KEY_CHECKING: value }), (c) => c.strictHostKeyChecking)
      expect(yield* strict("true")).toBe(true)
      expect(yield* strict("1")).toBe(true)
      expect(yield* strict("FALSE")).toBe(false)
      expect(yield* strict("0")).toBe(false)
      expect(yield* strict("accept-new")).toBe("accept-new")
    })
  )

  it.effect("an empty variable counts as unset", () =>
    Effect.gen(function* () {
      const config = yield* parse({ FLEETCTL_TUNNEL: "", FLEETCTL_ENDPOINT: "" })
      expect(config.tunnel).toBeUndefined()
      expect(config.endpoint).toBe("unix:///var/run/fleet.sock")
    })
  )

  const bad: ReadonlyArray<readonly [string, string, string]> = [
    ["FLEETCTL_ENDPOINT", "ftp://10.0.0.5", "unsupported scheme"],
    ["FLEETCTL_ENDPOINT", "10.0.0.5:49153", "expected a URL"],
    ["FLEETCTL_REQUEST_TIMEOUT", "ten", "finite number"],
    ["FLEETCTL_REQUEST_TIMEOUT", "0", "greater than 0"],
    ["FLEETCTL_REQUEST_TIMEOUT", "-1.5", "greater than 0"],
    ["FLEETCTL_SSH_TIMEOUT", "10s", "finite number"],
    ["FLEETCTL_STRICT_HOST_KEY_CHECKING", "maybe", "accept-new"]
  ]
  for (const [variable, value, why] of bad) {
    it.effect(`${variable}=${value} is a ConfigError naming the variable`, () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(parse({ [variable]: value }))
        expect(error._tag).toBe("ConfigError")
        expect(error.message).toContain(variable)
        expect(error.message).toContain(why)
      })
    )
  }

  it.effect("the key file is read as Redacted; an unreadable file is a ValueError naming it", () =>
    Effect.gen(function* () {
      const key = path.join(tmp, "key.pem")
      fs.writeFileSync(key, "-----BEGIN PRIVATE KEY-----\nsecret\n")
      const config = yield* parse({ FLEETCTL_KEY_FILE: key })
      const tls = yield* readTls(config)
      expect(Redacted.isRedacted(tls.key)).toBe(true)
      expect(String(tls.key)).not.toContain("secret")
      expect(Redacted.value(tls.key!)).toContain("secret")
      const missing = path.join(tmp, "missing-ca.pem")
      const error = yield* Effect.flip(readTls(yield* parse({ FLEETCTL_CA_FILE: missing })))
      expect(error._tag).toBe("ValueError")
      expect(error.message).toContain("FLEETCTL_CA_FILE")
      expect(error.message).toContain(missing)
      expect(error.message).toContain("ENOENT")
    })
  )
})

describe("Fleet.layerConfig", () => {
  it.live("defaults to fleetctl's unix:///var/run/fleet.sock", () =>
    Effect.gen(function* () {
      const error = yield* Fleet.getUnit("a.service").pipe(Effect.provide(withEnv({})), Effect.flip)
      expect(error._tag).toBe("ValueError")
      expect(error.message).toContain("unix:///var/run/fleet.sock")
    })
  )

  it.live("a bad variable fails the layer with a ConfigError naming it", () =>
    Effect.gen(function* () {
      const error = yield* Fleet.getUnit("a.service").pipe(
        Effect.provide(withEnv({ FLEETCTL_REQUEST_TIMEOUT: "soon" })),
        Effect.flip
      )
      expect(error._tag).toBe("ConfigError")
      expect(error.message).toContain("FLEETCTL_REQUEST_TIMEOUT")
    })
  )

  it.live("FLEETCTL_ENDPOINT and FLEETCTL_REQUEST_TIMEOUT reach the client", () =>
    Effect.gen(function* () {
      const server = yield* rawServer((line, socket) => {
        // The stall never answers; the request timeout must end it.
        if (line.includes("stall")) return
        socket.write(httpResponse(200, unitJson))
      })
      const env = { FLEETCTL_ENDPOINT: server.url, FLEETCTL_REQUEST_TIMEOUT: "0.3" }
      const unit = yield* Fleet.getUnit("a.service").pipe(Effect.provide(withEnv(env)))
      expect(unit.name).toBe("a.service")
      const error = yield* Fleet.getUnit("stall.service").pipe(Effect.provide(withEnv(env)), Effect.flip)
      expect(error).toMatchObject({ _tag: "TransportError", reason: "Timeout" })
      expect(error.message).toContain("300ms")
    })
  )

  it.live("options give what no variable sets; a variable overrides an option", () =>
    Effect.gen(function* () {
      let gets = 0
      const server = yield* rawServer((_, socket) => {
        gets++
        if (gets === 1) return // stalls: only the variable's short timeout lets the retry happen in time
        socket.write(httpResponse(200, unitJson))
      })
      const layer = withEnv(
        { FLEETCTL_ENDPOINT: server.url, FLEETCTL_REQUEST_TIMEOUT: "0.2" },
        { timeout: "1 hour", retry: Fleet.makeRetrySchedule({ base: "10 millis" }) }
      )
      const unit = yield* Fleet.getUnit("a.service").pipe(Effect.provide(layer))
      expect(unit.name).toBe("a.service")
      expect(gets).toBe(2)
    })
  )

  describe("TLS files", () => {
    let pki: Pki
    const files = { ca: "", other: "", cert: "", key: "" }
    beforeAll(() => {
      pki = makePki()
      files.ca = path.join(tmp, "ca.pem")
      files.other = path.join(tmp, "other.pem")
      files.cert = path.join(tmp, "client.pem")
      files.key = path.join(tmp, "client-key.pem")
      fs.writeFileSync(files.ca, pki.ca)
      fs.writeFileSync(files.other, pki.otherCa)
      fs.writeFileSync(files.cert, pki.clientCert)
      fs.writeFileSync(files.key, pki.clientKey)
    })

    it.live("FLEETCTL_CA_FILE, FLEETCTL_CERT_FILE and FLEETCTL_KEY_FILE reach the HTTPS transport", () =>
      Effect.gen(function* () {
        const server = yield* rawServer((_, socket) => socket.write(httpResponse(200, unitJson)))
        const proxy = yield* tlsProxy(pki, server.port, { requireClientCert: true })
        const endpoint = `https://127.0.0.1:${proxy.port}`
        const unit = yield* Fleet.getUnit("a.service").pipe(
          Effect.provide(
            withEnv({
              FLEETCTL_ENDPOINT: endpoint,
              FLEETCTL_CA_FILE: files.ca,
              FLEETCTL_CERT_FILE: files.cert,
              FLEETCTL_KEY_FILE: files.key
            })
          )
        )
        expect(unit.name).toBe("a.service")
        // Another CA: the server's certificate is refused.
        const untrusted = yield* Fleet.getUnit("a.service").pipe(
          Effect.provide(
            withEnv({
              FLEETCTL_ENDPOINT: endpoint,
              FLEETCTL_CA_FILE: files.other,
              FLEETCTL_CERT_FILE: files.cert,
              FLEETCTL_KEY_FILE: files.key
            })
          ),
          Effect.flip
        )
        expect(untrusted._tag).toBe("ValueError")
        // No client certificate: the server refuses the handshake.
        const anonymous = yield* Fleet.getUnit("a.service").pipe(
          Effect.provide(withEnv({ FLEETCTL_ENDPOINT: endpoint, FLEETCTL_CA_FILE: files.ca })),
          Effect.flip
        )
        expect(anonymous._tag).toBe("ValueError")
      })
    )

    it.live("an unreadable certificate file fails the layer's build with a ValueError naming it", () =>
      Effect.gen(function* () {
        const missing = path.join(tmp, "nope.pem")
        const error = yield* Fleet.getUnit("a.service").pipe(
          Effect.provide(
            withEnv({
              FLEETCTL_ENDPOINT: "https://127.0.0.1:1",
              FLEETCTL_CA_FILE: files.ca,
              FLEETCTL_CERT_FILE: missing
            })
          ),
          Effect.flip
        )
        expect(error._tag).toBe("ValueError")
        expect(error.message).toContain("FLEETCTL_CERT_FILE")
        expect(error.message).toContain(missing)
      })
    )
  })

  describe.skipIf(!sshdAvailable())("the tunnel variables", () => {
    let sshd: Sshd
    let agent: { readonly socket: string; readonly stop: () => Promise<void> }
    let knownHosts: string
    beforeAll(async () => {
      sshd = await startSshd()
      agent = await startAgent(sshd.dir, [sshd.userKeyFile])
      knownHosts = path.join(sshd.dir, "known_hosts_config_test")
      const [type, key] = sshd.hostPublicKey.split(" ")
      fs.writeFileSync(knownHosts, `[127.0.0.1]:${sshd.port} ${type} ${key}\n`)
    })
    afterAll(async () => {
      // Every tunnel closed with its layer: no SSH session is left on the server.
      const deadline = Date.now() + 5_000
      while (sshd.sessions() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
      expect(sshd.sessions()).toBe(0)
      await agent?.stop()
      await sshd?.stop()
    })

    const tunnelEnv = (endpoint: string, extra: Record<string, string> = {}) => ({
      FLEETCTL_ENDPOINT: endpoint,
      FLEETCTL_TUNNEL: `127.0.0.1:${sshd.port}`,
      FLEETCTL_SSH_USERNAME: "root",
      FLEETCTL_SSH_TIMEOUT: "5",
      FLEETCTL_KNOWN_HOSTS_FILE: knownHosts,
      SSH_AUTH_SOCK: agent.socket,
      ...extra
    })

    it.live("FLEETCTL_TUNNEL sends requests through SSH, with the username, agent and known_hosts given", () =>
      Effect.gen(function* () {
        const server = yield* rawServer((_, socket) => socket.write(httpResponse(200, unitJson)))
        const unit = yield* Fleet.getUnit("a.service").pipe(Effect.provide(withEnv(tunnelEnv(server.url))))
        expect(unit.name).toBe("a.service")
      })
    )

    it.live("FLEETCTL_SSH_USERNAME is the user the tunnel logs in as", () =>
      Effect.gen(function* () {
        const server = yield* rawServer((_, socket) => socket.write(httpResponse(200, unitJson)))
        const error = yield* Fleet.getUnit("a.service").pipe(
          Effect.provide(withEnv(tunnelEnv(server.url, { FLEETCTL_SSH_USERNAME: "nobody-here" }))),
          Effect.flip
        )
        expect(error._tag).toBe("ValueError")
      })
    )

    it.live("FLEETCTL_STRICT_HOST_KEY_CHECKING decides what an unknown host gets", () =>
      Effect.gen(function* () {
        const server = yield* rawServer((_, socket) => socket.write(httpResponse(200, unitJson)))
        const empty = path.join(sshd.dir, `known_hosts_empty_${Date.now()}`)
        fs.writeFileSync(empty, "")
        const refused = yield* Fleet.getUnit("a.service").pipe(
          Effect.provide(withEnv(tunnelEnv(server.url, { FLEETCTL_KNOWN_HOSTS_FILE: empty }))),
          Effect.flip
        )
        expect(refused._tag).toBe("ValueError")
        const unit = yield* Fleet.getUnit("a.service").pipe(
          Effect.provide(
            withEnv(
              tunnelEnv(server.url, {
                FLEETCTL_KNOWN_HOSTS_FILE: empty,
                FLEETCTL_STRICT_HOST_KEY_CHECKING: "accept-new"
              })
            )
          )
        )
        expect(unit.name).toBe("a.service")
        expect(fs.readFileSync(empty, "utf8")).toContain(`[127.0.0.1]:${sshd.port}`)
      })
    )
  })
})
