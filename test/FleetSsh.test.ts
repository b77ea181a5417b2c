import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Redacted, Stream } from "effect"
import { HttpClient } from "effect/http"
import { execFileSync, spawn } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as http from "node:http"
import type * as net from "node:net"
import * as path from "node:path"
import { Endpoint, Fleet, FleetServer, FleetSsh, SshConnection, Unit } from "../src/index.ts"
import { ValueError } from "../src/FleetError.ts"
import { isTunnelFailure } from "../src/internal/ssh/tunnelFailure.ts"
import { startTinyServer, type TinyServer } from "./support/httpServer.ts"
import { makePki, tlsProxy } from "./support/tls.ts"
import { freePort, silentServer } from "./support/net.ts"
import { establishedOn, startAgent, waitFor } from "./support/sshd.ts"
import { backends, keygen, openssh, type SshTestServer } from "./support/sshServer.ts"

const getJson = (url: string) =>
  HttpClient.get(url).pipe(
    Effect.flatMap((response) => response.json),
    Effect.map((body) => body as { readonly path: string; readonly method: string })
  )

/** The root cause chain of a failure, flattened, to find the TunnelFailure however deep undici put it. */
const causes = (error: unknown): Array<unknown> => {
  const chain: Array<unknown> = []
  let current: unknown = error
  for (let depth = 0; depth < 10 && current !== undefined && current !== null; depth++) {
    chain.push(current)
    const next = current as { cause?: unknown; reason?: unknown }
    current = next.reason !== undefined && typeof next.reason === "object" ? next.reason : next.cause
  }
  return chain
}

// The cases that hold for any SSH server run against each server this machine has (see support/sshServer.ts);
// those that need OpenSSH's own tools skip without them, saying which.
describe.each(backends())("FleetSsh against $name", (backend) => {
  let sshd: SshTestServer
  let server: TinyServer
  let knownHosts: string
  let tcp: Endpoint.Endpoint
  let unix: Endpoint.Endpoint
  let unixPython: Endpoint.Endpoint

  beforeAll(async () => {
    sshd = await backend.start()
    server = await startTinyServer()
    knownHosts = path.join(sshd.dir, "known_hosts")
    const [type, key] = sshd.hostPublicKey.split(" ")
    fs.writeFileSync(knownHosts, `# the test host\n[127.0.0.1]:${sshd.port} ${type} ${key}\n`)
    tcp = Effect.runSync(Endpoint.parse(`http://127.0.0.1:${server.port}`))
    unix = Effect.runSync(Endpoint.parse(`unix://${server.socketPath}`))
    unixPython = Effect.runSync(Endpoint.parse(`http+unix://${encodeURIComponent(server.socketPath)}`))
  })

  afterAll(async () => {
    await server?.close()
    await sshd?.stop()
  })

  const options = (endpoint: Endpoint.Endpoint, extra: Partial<FleetSsh.Options> = {}): FleetSsh.Options => ({
    tunnel: `127.0.0.1:${sshd.port}`,
    endpoint,
    username: "root",
    agent: "",
    privateKey: Redacted.make(sshd.userPrivateKey),
    knownHostsFile: knownHosts,
    ...extra
  })

  const buildError = <E>(layer: Layer.Layer<HttpClient.HttpClient, E>) =>
    Layer.build(layer).pipe(Effect.flip, Effect.scoped)

  it.effect("reaches a TCP endpoint through direct-tcpip channels, kept alive across requests", () =>
    Effect.gen(function* () {
      const before = server.connections()
      const first = yield* getJson(`${tcp.baseUrl}/fleet/v1/units`)
      expect(first).toEqual({ path: "/fleet/v1/units", method: "GET" })
      for (let i = 0; i < 9; i++) yield* getJson(`${tcp.baseUrl}/fleet/v1/machines`)
      // undici opens a second connection for the request right after the first (it does so over plain TCP too),
      // then reuses them: ten requests, at most two channels.
      expect(server.connections() - before).toBeLessThanOrEqual(2)
      expect(sshd.sessions()).toBeGreaterThan(0)
    }).pipe(Effect.provide(FleetSsh.layer(options(tcp))))
  )

  it.effect("reaches a unix-socket endpoint (unix://) through direct-streamlocal", () =>
    Effect.gen(function* () {
      expect(unix.baseUrl).toBe("http://localhost")
      const body = yield* getJson(`${unix.baseUrl}/fleet/v1/units`)
      expect(body.path).toBe("/fleet/v1/units")
    }).pipe(Effect.provide(FleetSsh.layer(options(unix))))
  )

  it.effect("reaches a unix-socket endpoint (http+unix://) through direct-streamlocal", () =>
    Effect.gen(function* () {
      const body = yield* getJson(`${unixPython.baseUrl}/fleet/v1/unitState`)
      expect(body.path).toBe("/fleet/v1/unitState")
    }).pipe(Effect.provide(FleetSsh.layer(options(unixPython))))
  )

  it.effect("reaches a unix-socket endpoint with fleetctl fd-forward", () =>
    Effect.gen(function* () {
      const first = yield* getJson(`${unix.baseUrl}/fleet/v1/units`)
      const second = yield* getJson(`${unix.baseUrl}/fleet/v1/machines`)
      expect([first.path, second.path]).toEqual(["/fleet/v1/units", "/fleet/v1/machines"])
    }).pipe(Effect.provide(FleetSsh.layer(options(unix, { unixSocketMethod: "fd-forward" }))))
  )

  const hostLine = () => {
    const [type, key] = sshd.hostPublicKey.split(" ")
    return { type: type ?? "", key: key ?? "" }
  }

  /** The SHA256 fingerprint of a .pub file, computed here; knownHosts.test checks the library's against ssh-keygen. */
  const fingerprintOf = (publicKeyFile: string) => {
    const blob = Buffer.from(fs.readFileSync(publicKeyFile, "utf8").split(" ")[1] ?? "", "base64")
    return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`
  }
  const newKey = (name: string, passphrase?: string) =>
    Effect.promise(() => keygen(path.join(sshd.dir, `${name}-${Date.now()}`), passphrase))

  const message = (error: unknown) => (error as { message: string }).message

  it.effect("a socket missing on the tunnel host fails the request with a TunnelFailure (streamlocal)", () =>
    Effect.gen(function* () {
      const error = yield* getJson("http://localhost/fleet/v1/units").pipe(Effect.flip)
      const failure = causes(error).find(isTunnelFailure)
      expect(message(failure)).toMatch(/^SSH channel to \/nonexistent\/fleet\.sock refused: /)
    }).pipe(Effect.provide(FleetSsh.layer(options(Effect.runSync(Endpoint.parse("unix:///nonexistent/fleet.sock"))))))
  )

  it.effect("a socket missing on the tunnel host fails the request with a TunnelFailure (fd-forward)", () =>
    Effect.gen(function* () {
      const error = yield* getJson("http://localhost/fleet/v1/units").pipe(Effect.flip)
      const failure = causes(error).find(isTunnelFailure)
      expect(message(failure)).toContain(
        "fleetctl fd-forward /nonexistent/fleet.sock on the tunnel host exited with code 1"
      )
      expect(message(failure)).toContain("ENOENT")
    }).pipe(
      Effect.provide(
        FleetSsh.layer(
          options(Effect.runSync(Endpoint.parse("unix:///nonexistent/fleet.sock")), { unixSocketMethod: "fd-forward" })
        )
      )
    )
  )

  it.effect("https:// behind the tunnel: verified against an IP without sending it as SNI (no DEP0123)", () =>
    Effect.gen(function* () {
      const pki = makePki()
      const proxy = yield* tlsProxy(pki, server.port)
      const https = Effect.runSync(Endpoint.parse(`https://127.0.0.1:${proxy.port}`))
      const warnings: Array<string> = []
      const onWarning = (warning: Error & { code?: string }) => warnings.push(warning.code ?? warning.message)
      yield* Effect.acquireRelease(
        Effect.sync(() => process.on("warning", onWarning)),
        () => Effect.sync(() => process.off("warning", onWarning))
      )
      const body = yield* getJson(`${https.baseUrl}/tls-by-ip`).pipe(
        Effect.provide(FleetSsh.layer(options(https, { tls: { ca: pki.ca } })))
      )
      expect(body.path).toBe("/tls-by-ip")
      const named = yield* getJson(`${https.baseUrl}/tls-by-name`).pipe(
        Effect.provide(FleetSsh.layer(options(https, { tls: { ca: [pki.ca], servername: "localhost" } })))
      )
      expect(named.path).toBe("/tls-by-name")
      const refused = yield* getJson(`${https.baseUrl}/tls-other-ca`).pipe(
        Effect.flip,
        Effect.provide(FleetSsh.layer(options(https, { tls: { ca: pki.otherCa } })))
      )
      expect(refused._tag).toBe("HttpClientError")
      // Warnings are emitted on the next tick.
      yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
      expect(warnings).not.toContain("DEP0123")
    })
  )

  it.effect("a tunnel closed right after a refused https handshake closes its channels without an uncaught error", () =>
    Effect.gen(function* () {
      const pki = makePki()
      const proxy = yield* tlsProxy(pki, server.port)
      const https = Effect.runSync(Endpoint.parse(`https://127.0.0.1:${proxy.port}`))
      // The layer closes as soon as the request has failed, while the refused channel may still be closing.
      for (let i = 0; i < 20; i++) {
        const refused = yield* getJson(`${https.baseUrl}/tls-other-ca`).pipe(
          Effect.flip,
          Effect.provide(FleetSsh.layer(options(https, { tls: { ca: pki.otherCa } })))
        )
        expect(refused._tag).toBe("HttpClientError")
      }
    })
  )

  it.effect("keepAliveTimeout is a Duration: idle channels are closed after it", () =>
    Effect.gen(function* () {
      // A server that sends no Keep-Alive hint, so undici goes by keepAliveTimeout, and never closes idle sockets.
      const open = new Set<net.Socket>()
      const quiet = yield* Effect.acquireRelease(
        Effect.promise(
          () =>
            new Promise<http.Server>((resolve) => {
              const created = http.createServer((_request, response) => {
                response.writeHead(200, { "content-type": "application/json" })
                response.end(JSON.stringify({ path: "/idle", method: "GET" }))
              })
              created.keepAliveTimeout = 0
              created.on("connection", (socket) => {
                open.add(socket)
                socket.on("close", () => open.delete(socket))
              })
              created.listen(0, "127.0.0.1", () => resolve(created))
            })
        ),
        (created) =>
          Effect.promise(() => {
            created.closeAllConnections()
            return new Promise<void>((resolve) => created.close(() => resolve()))
          })
      )
      const port = (quiet.address() as net.AddressInfo).port
      const endpoint = Effect.runSync(Endpoint.parse(`http://127.0.0.1:${port}`))
      yield* Effect.gen(function* () {
        expect((yield* getJson(`${endpoint.baseUrl}/idle`)).path).toBe("/idle")
        expect(open.size).toBe(1)
        // undici's default would hold the channel open for 4 s.
        yield* Effect.promise(() => waitFor(() => open.size === 0, "the idle channel to be closed", 2000))
      }).pipe(Effect.provide(FleetSsh.layer(options(endpoint, { keepAliveTimeout: "100 millis" }))))
    })
  )

  describe("known_hosts", () => {
    it.effect("refuses an unknown host and says how to add it", () =>
      Effect.gen(function* () {
        const file = path.join(sshd.dir, "kh-unknown")
        fs.writeFileSync(
          file,
          "[127.0.0.1]:1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDbLYfLfDAFRnBmcPjUozmHz7gbLNMu6WSZDN0sKdrJT\n"
        )
        const error = yield* buildError(FleetSsh.layer(options(tcp, { knownHostsFile: file })))
        expect(error).toBeInstanceOf(ValueError)
        expect(message(error)).toContain(`the host [127.0.0.1]:${sshd.port} is not in ${file}`)
        expect(message(error)).toContain(`ssh-keyscan -p ${sshd.port} 127.0.0.1 >> ${file}`)
        expect(message(error)).toContain(`strictHostKeyChecking: "accept-new"`)
        expect(message(error)).toContain(fingerprintOf(`${sshd.hostKeyFile}.pub`))
      })
    )

    it.effect("refuses a changed key, showing both SHA256 fingerprints as ssh-keygen prints them", () =>
      Effect.gen(function* () {
        const other = yield* newKey("other")
        const file = path.join(sshd.dir, "kh-changed")
        const [type, key] = other.publicKey.split(" ")
        fs.writeFileSync(file, `[127.0.0.1]:${sshd.port} ${type} ${key}\n`)
        const error = yield* buildError(FleetSsh.layer(options(tcp, { knownHostsFile: file })))
        const offered = fingerprintOf(`${sshd.hostKeyFile}.pub`)
        const known = fingerprintOf(
          path.join(sshd.dir, `${fs.readdirSync(sshd.dir).find((f) => f.startsWith("other-") && f.endsWith(".pub"))}`)
        )
        expect(message(error)).toContain("REMOTE HOST IDENTIFICATION HAS CHANGED")
        expect(message(error)).toContain(`host key of [127.0.0.1]:${sshd.port} has changed`)
        expect(offered).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/)
        expect(message(error)).toContain(offered)
        expect(message(error)).toContain(known)
        expect(offered).not.toBe(known)
      })
    )

    it.effect.skipIf(!openssh.keygen())(
      "accepts a hashed entry (ssh-keygen -H) and refuses one hashed for another port [needs OpenSSH's ssh-keygen]",
      () =>
        Effect.gen(function* () {
          const { type, key } = hostLine()
          const good = path.join(sshd.dir, "kh-hashed")
          fs.writeFileSync(good, `[127.0.0.1]:${sshd.port} ${type} ${key}\n`)
          execFileSync("ssh-keygen", ["-q", "-H", "-f", good], { stdio: "ignore" })
          expect(fs.readFileSync(good, "utf8")).toMatch(/^\|1\|[^ ]+ ssh-ed25519 /)
          const body = yield* getJson(`${tcp.baseUrl}/hashed`).pipe(
            Effect.provide(FleetSsh.layer(options(tcp, { knownHostsFile: good })))
          )
          expect(body.path).toBe("/hashed")
          const bad = path.join(sshd.dir, "kh-hashed-other")
          fs.writeFileSync(bad, `[127.0.0.1]:${sshd.port + 1} ${type} ${key}\n`)
          execFileSync("ssh-keygen", ["-q", "-H", "-f", bad], { stdio: "ignore" })
          const error = yield* buildError(FleetSsh.layer(options(tcp, { knownHostsFile: bad })))
          expect(message(error)).toContain("is not in")
        })
    )

    it.effect("refuses a key marked @revoked even when another line lists it", () =>
      Effect.gen(function* () {
        const { type, key } = hostLine()
        const file = path.join(sshd.dir, "kh-revoked")
        fs.writeFileSync(file, `[127.0.0.1]:${sshd.port} ${type} ${key}\n@revoked * ${type} ${key}\n`)
        const error = yield* buildError(FleetSsh.layer(options(tcp, { knownHostsFile: file })))
        expect(message(error)).toContain("revoked")
        expect(message(error)).toContain(file)
      })
    )

    it.effect("fails before connecting when the file is missing in strict mode (python-fleet's message)", () =>
      Effect.gen(function* () {
        const file = path.join(sshd.dir, "no-such-dir", "known_hosts")
        const error = yield* buildError(FleetSsh.layer(options(tcp, { knownHostsFile: file })))
        expect(message(error)).toBe(
          `Strict Host Key Checking is enabled, but hosts file (${file}) does not exist or is unreadable.`
        )
      })
    )

    it.effect("accept-new appends one line in fleetctl's format; strict mode then accepts the host", () =>
      Effect.gen(function* () {
        const folder = path.join(sshd.dir, "home", ".fleetctl")
        const file = path.join(folder, "known_hosts")
        const { type, key } = hostLine()
        const first = yield* getJson(`${tcp.baseUrl}/new`).pipe(
          Effect.provide(FleetSsh.layer(options(tcp, { knownHostsFile: file, strictHostKeyChecking: "accept-new" })))
        )
        expect(first.path).toBe("/new")
        expect(fs.readFileSync(file, "utf8")).toBe(`[127.0.0.1]:${sshd.port} ${type} ${key}\n`)
        expect(fs.statSync(folder).mode & 0o777).toBe(0o700)
        expect(fs.statSync(file).mode & 0o777).toBe(0o644)
        const second = yield* getJson(`${tcp.baseUrl}/again`).pipe(
          Effect.provide(FleetSsh.layer(options(tcp, { knownHostsFile: file, strictHostKeyChecking: true })))
        )
        expect(second.path).toBe("/again")
        yield* Layer.build(
          FleetSsh.layer(options(tcp, { knownHostsFile: file, strictHostKeyChecking: "accept-new" }))
        ).pipe(Effect.scoped)
        expect(
          fs
            .readFileSync(file, "utf8")
            .split("\n")
            .filter((line) => line !== "")
        ).toHaveLength(1)
      })
    )

    it.effect.skipIf(!openssh.keygen())(
      "accept-new writes a line OpenSSH reads back (ssh-keygen -F) [needs OpenSSH's ssh-keygen]",
      () =>
        Effect.gen(function* () {
          const file = path.join(sshd.dir, `kh-openssh-${Date.now()}`)
          yield* Layer.build(
            FleetSsh.layer(options(tcp, { knownHostsFile: file, strictHostKeyChecking: "accept-new" }))
          ).pipe(Effect.scoped)
          const found = execFileSync("ssh-keygen", ["-F", `[127.0.0.1]:${sshd.port}`, "-f", file], {
            encoding: "utf8"
          })
          expect(found).toContain(hostLine().key)
        })
    )

    it.effect("accept-new, 20 first connections at once in one process: one line", () =>
      Effect.gen(function* () {
        const file = path.join(sshd.dir, `kh-concurrent-${Date.now()}`, "known_hosts")
        const layer = FleetSsh.layer(options(tcp, { knownHostsFile: file, strictHostKeyChecking: "accept-new" }))
        yield* Effect.all(
          Array.from({ length: 20 }, () => Layer.build(layer).pipe(Effect.scoped)),
          { concurrency: "unbounded" }
        )
        const { type, key } = hostLine()
        expect(fs.readFileSync(file, "utf8")).toBe(`[127.0.0.1]:${sshd.port} ${type} ${key}\n`)
      })
    )

    it.live("accept-new, 4 processes making 5 first connections each at once: one line", () =>
      Effect.gen(function* () {
        const file = path.join(sshd.dir, `kh-processes-${Date.now()}`, "known_hosts")
        const child = path.join(import.meta.dirname, "support", "acceptNewChild.ts")
        const startAt = Date.now() + 2000
        const args = [String(sshd.port), sshd.userKeyFile, file, "5", String(startAt)]
        const exits = yield* Effect.promise(() =>
          Promise.all(
            Array.from(
              { length: 4 },
              () =>
                new Promise<number | null>((resolve) =>
                  spawn(process.execPath, [child, ...args], { stdio: ["ignore", "ignore", "inherit"] }).once(
                    "exit",
                    resolve
                  )
                )
            )
          )
        )
        expect(exits).toEqual([0, 0, 0, 0])
        const { type, key } = hostLine()
        expect(fs.readFileSync(file, "utf8")).toBe(`[127.0.0.1]:${sshd.port} ${type} ${key}\n`)
      })
    )

    it.effect("accept-new still refuses a changed key and leaves the file alone", () =>
      Effect.gen(function* () {
        const other = yield* newKey("changed")
        const file = path.join(sshd.dir, "kh-accept-new-changed")
        const [type, key] = other.publicKey.split(" ")
        const content = `[127.0.0.1]:${sshd.port} ${type} ${key}\n`
        fs.writeFileSync(file, content)
        const error = yield* buildError(
          FleetSsh.layer(options(tcp, { knownHostsFile: file, strictHostKeyChecking: "accept-new" }))
        )
        expect(message(error)).toContain("HAS CHANGED")
        expect(fs.readFileSync(file, "utf8")).toBe(content)
      })
    )

    it.effect("strict checking off accepts any key and neither reads nor writes the file", () =>
      Effect.gen(function* () {
        const file = path.join(sshd.dir, "never", "known_hosts")
        const body = yield* getJson(`${tcp.baseUrl}/lax`).pipe(
          Effect.provide(FleetSsh.layer(options(tcp, { knownHostsFile: file, strictHostKeyChecking: false })))
        )
        expect(body.path).toBe("/lax")
        expect(fs.existsSync(path.dirname(file))).toBe(false)
      })
    )
  })

  describe("connection errors", () => {
    it.effect("a port nothing listens on: Unable to connect to <host>:<port>", () =>
      Effect.gen(function* () {
        const port = yield* Effect.promise(freePort)
        const error = yield* buildError(FleetSsh.layer(options(tcp, { tunnel: `127.0.0.1:${port}` })))
        expect(message(error)).toMatch(new RegExp(`^Unable to connect to 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`))
      })
    )

    it.effect("an unresolvable host: <host> could not be resolved.", () =>
      Effect.gen(function* () {
        const error = yield* buildError(FleetSsh.layer(options(tcp, { tunnel: "nonexistent.invalid:22" })))
        expect(message(error)).toBe("nonexistent.invalid could not be resolved.")
      })
    )

    it.effect("an invalid port: <port> is not a valid TCP port", () =>
      Effect.gen(function* () {
        expect(message(yield* buildError(FleetSsh.layer(options(tcp, { tunnel: "127.0.0.1:99999" }))))).toBe(
          "99999 is not a valid TCP port"
        )
        expect(message(yield* buildError(FleetSsh.layer(options(tcp, { tunnel: "host:ssh" }))))).toBe(
          "ssh is not a valid TCP port"
        )
        expect(message(yield* buildError(FleetSsh.layer(options(tcp, { tunnel: "[::1]:0" }))))).toBe(
          "0 is not a valid TCP port"
        )
      })
    )

    it.effect("an IPv6 tunnel is written [addr]:port", () =>
      Effect.gen(function* () {
        const port = yield* Effect.promise(freePort)
        const error = yield* buildError(FleetSsh.layer(options(tcp, { tunnel: `[::1]:${port}` })))
        expect(message(error)).toMatch(new RegExp(`^Unable to connect to \\[::1\\]:${port}: `))
      })
    )

    // The timeout runs on Effect's clock, so this one runs on the real clock rather than the test clock.
    it.live("times out against a server that accepts TCP but never speaks SSH", () =>
      Effect.gen(function* () {
        const silent = yield* silentServer
        const error = yield* buildError(
          FleetSsh.layer(options(tcp, { tunnel: `127.0.0.1:${silent.port}`, timeout: "500 millis" }))
        )
        expect(message(error)).toBe("Unable to connect via ssh: timed out after 500 ms while initiating SSH connection")
        yield* Effect.promise(() => waitFor(() => silent.open() === 0, "the silent connection to be closed"))
      })
    )

    it.effect("interrupting the build closes the half-made connection", () =>
      Effect.gen(function* () {
        const silent = yield* silentServer
        const fiber = yield* Layer.build(
          FleetSsh.layer(options(tcp, { tunnel: `127.0.0.1:${silent.port}`, timeout: "1 minute" }))
        ).pipe(Effect.scoped, Effect.forkChild)
        yield* Effect.promise(() => waitFor(() => silent.open() === 1, "the connection"))
        yield* Fiber.interrupt(fiber)
        yield* Effect.promise(() => waitFor(() => silent.open() === 0, "the connection to be closed"))
      })
    )

    it.effect("a key the server does not accept: Unable to connect via ssh: authentication failed", () =>
      Effect.gen(function* () {
        const stranger = yield* newKey("stranger")
        const error = yield* buildError(
          FleetSsh.layer(options(tcp, { privateKey: Redacted.make(stranger.privateKey) }))
        )
        expect(message(error)).toMatch(/^Unable to connect via ssh: authentication failed for user root/)
        expect(message(error)).not.toContain("PRIVATE KEY")
      })
    )

    it.effect("an unreadable private key: the error names no byte of it", () =>
      Effect.gen(function* () {
        // ssh2 quotes the first bytes of a blob whose magic it does not know.
        const blob = Buffer.concat([Buffer.from("TOPSECRETKEYMATERIAL"), Buffer.alloc(64, 7)]).toString("base64")
        const key = `-----BEGIN OPENSSH PRIVATE KEY-----\n${blob}\n-----END OPENSSH PRIVATE KEY-----\n`
        const error = yield* buildError(FleetSsh.layer(options(tcp, { privateKey: Redacted.make(key) })))
        expect(error).toBeInstanceOf(ValueError)
        expect(message(error)).toBe("Unable to use the private key: Unsupported OpenSSH key magic")
        expect(String(error)).not.toContain("TOPSECRET")
        expect(JSON.stringify(error)).not.toContain("TOPSECRET")
      })
    )
  })

  describe("authentication", () => {
    it.effect.skipIf(!openssh.agent())("through a real ssh-agent [needs OpenSSH's ssh-agent]", () =>
      Effect.gen(function* () {
        const agent = yield* Effect.acquireRelease(
          Effect.promise(() => startAgent(sshd.dir, [sshd.userKeyFile])),
          (agent) => Effect.promise(() => agent.stop())
        )
        const body = yield* getJson(`${tcp.baseUrl}/agent`).pipe(
          Effect.provide(FleetSsh.layer(options(tcp, { agent: agent.socket, privateKey: undefined })))
        )
        expect(body.path).toBe("/agent")
      })
    )

    it.effect.skipIf(!openssh.agent())(
      "the agent first, then the explicit key when the agent's keys are refused [needs OpenSSH's ssh-agent]",
      () =>
        Effect.gen(function* () {
          const strangerFile = path.join(sshd.dir, `agent-stranger-${Date.now()}`)
          yield* Effect.promise(() => keygen(strangerFile))
          const agent = yield* Effect.acquireRelease(
            Effect.promise(() => startAgent(sshd.dir, [strangerFile])),
            (agent) => Effect.promise(() => agent.stop())
          )
          const body = yield* getJson(`${tcp.baseUrl}/fallback`).pipe(
            Effect.provide(FleetSsh.layer(options(tcp, { agent: agent.socket })))
          )
          expect(body.path).toBe("/fallback")
        })
    )

    it.effect("an encrypted key file with its passphrase as Redacted; a wrong passphrase is a ValueError", () =>
      Effect.gen(function* () {
        const file = path.join(sshd.dir, `encrypted-${Date.now()}`)
        const encrypted = yield* Effect.promise(() => keygen(file, "correct horse"))
        sshd.authorize(encrypted.publicKey)
        const body = yield* getJson(`${tcp.baseUrl}/encrypted`).pipe(
          Effect.provide(
            FleetSsh.layer(
              options(tcp, {
                privateKey: Redacted.make(fs.readFileSync(file)),
                passphrase: Redacted.make("correct horse")
              })
            )
          )
        )
        expect(body.path).toBe("/encrypted")
        const error = yield* buildError(
          FleetSsh.layer(
            options(tcp, {
              privateKey: Redacted.make(encrypted.privateKey),
              passphrase: Redacted.make("wrong")
            })
          )
        )
        expect(message(error)).toMatch(/^Unable to use the private key: /)
        expect(message(error)).not.toContain("wrong")
      })
    )

    it.effect("the default key files under ~/.ssh", () =>
      Effect.gen(function* () {
        const home = path.join(sshd.dir, `home-${Date.now()}`)
        fs.mkdirSync(path.join(home, ".ssh"), { recursive: true })
        fs.copyFileSync(sshd.userKeyFile, path.join(home, ".ssh", "id_ed25519"))
        const saved = process.env.HOME
        yield* Effect.acquireRelease(
          Effect.sync(() => {
            process.env.HOME = home
          }),
          () =>
            Effect.sync(() => {
              process.env.HOME = saved
            })
        )
        const body = yield* getJson(`${tcp.baseUrl}/default-key`).pipe(
          Effect.provide(FleetSsh.layer(options(tcp, { privateKey: undefined })))
        )
        expect(body.path).toBe("/default-key")
      })
    )
  })

  describe("connection lifecycle", () => {
    const established = () => establishedOn(sshd.port)
    const settle = (what: string, check: () => boolean) => Effect.promise(() => waitFor(check, what))
    const ssh2Client = Effect.promise(() => import("ssh2")).pipe(Effect.map((module) => module.Client))
    /** A caller-owned ssh2 client connected through connectClient, ended when the test's scope closes. */
    const connectedClient = Effect.gen(function* () {
      const Client = yield* ssh2Client
      const client = new Client()
      // A connection reset when the test server stops would otherwise be thrown: ssh2 emits it as "error".
      client.on("error", () => {})
      yield* Effect.addFinalizer(() => Effect.sync(() => client.end()))
      yield* SshConnection.connectClient(client, {
        host: "127.0.0.1",
        port: sshd.port,
        username: "root",
        privateKey: sshd.userPrivateKey
      })
      return client
    })

    it.effect("one SSH connection per layer, gone (as sshd sees it) when the scope closes", () =>
      Effect.gen(function* () {
        yield* settle("no SSH connection from earlier tests", () => established() === 0)
        yield* Effect.gen(function* () {
          const context = yield* Layer.build(FleetSsh.layer(options(tcp)))
          for (let i = 0; i < 5; i++) {
            yield* getJson(`${tcp.baseUrl}/scoped/${i}`).pipe(Effect.provide(context))
          }
          const body = yield* getJson(`${unix.baseUrl}/other`).pipe(Effect.provide(context))
          expect(body.path).toBe("/other")
          expect(established()).toBe(1)
        }).pipe(Effect.scoped)
        yield* settle("sshd to see the disconnect", () => established() === 0 && sshd.sessions() === 0)
      })
    )

    it.effect("20 layers built, used and closed: no SSH connection, channel or upstream connection left", () =>
      Effect.gen(function* () {
        yield* settle("no SSH connection from earlier tests", () => established() === 0 && sshd.sessions() === 0)
        for (let i = 0; i < 20; i++) {
          yield* Effect.gen(function* () {
            const context = yield* Layer.build(FleetSsh.layer(options(i % 2 === 0 ? tcp : unix)))
            for (let j = 0; j < 3; j++) {
              const base = i % 2 === 0 ? tcp.baseUrl : unix.baseUrl
              yield* getJson(`${base}/leak/${i}/${j}`).pipe(Effect.provide(context))
            }
          }).pipe(Effect.scoped)
        }
        yield* settle(
          "every connection to be gone",
          () => established() === 0 && sshd.sessions() === 0 && server.open() === 0
        )
      })
    )

    it.effect("20 layers over one caller-owned connection leave no listener and no channel behind", () =>
      Effect.gen(function* () {
        const client = yield* connectedClient
        const listeners = () => ["end", "close", "error", "ready"].map((event) => client.listenerCount(event))
        const before = listeners()
        for (let i = 0; i < 20; i++) {
          yield* getJson(`${tcp.baseUrl}/owned-leak/${i}`).pipe(
            Effect.provide(FleetSsh.layerNoConnection({ endpoint: i % 2 === 0 ? tcp : unix })),
            Effect.provide(SshConnection.layerFromClient(client))
          )
        }
        expect(listeners()).toEqual(before)
        yield* settle("the channels to close", () => server.open() === 0)
        expect(established()).toBe(1)
      })
    )

    it.effect("a caller-owned connection carries the requests and stays open after the scope closes", () =>
      Effect.gen(function* () {
        const { Client } = yield* Effect.promise(() => import("ssh2"))
        const client = yield* Effect.acquireRelease(
          Effect.callback<InstanceType<typeof Client>, Error>((resume) => {
            const client = new Client()
            // A connection reset when the test server stops would otherwise be thrown: ssh2 emits it as "error".
            client.on("error", () => {})
            client.once("ready", () => resume(Effect.succeed(client)))
            client.once("error", (error) => resume(Effect.fail(error)))
            client.connect({ host: "127.0.0.1", port: sshd.port, username: "root", privateKey: sshd.userPrivateKey })
          }),
          (client) => Effect.sync(() => client.end())
        )
        yield* Effect.gen(function* () {
          const body = yield* getJson(`${unix.baseUrl}/owned`)
          expect(body.path).toBe("/owned")
          const fd = yield* getJson(`${tcp.baseUrl}/owned-tcp`).pipe(
            Effect.provide(FleetSsh.layerClient(client, { endpoint: tcp }))
          )
          expect(fd.path).toBe("/owned-tcp")
        }).pipe(Effect.provide(FleetSsh.layerClient(client, { endpoint: unix })))
        // Still usable: a new layer over the same connection works after the first one's scope closed.
        expect(established()).toBe(1)
        const again = yield* getJson(`${unix.baseUrl}/owned-again`).pipe(
          Effect.provide(FleetSsh.layerClient(client, { endpoint: unix, unixSocketMethod: "fd-forward" }))
        )
        expect(again.path).toBe("/owned-again")
        expect(established()).toBe(1)
      })
    )

    it.effect("connectClient connects a caller's client and waits for its ready; it stays the caller's", () =>
      Effect.gen(function* () {
        const client = yield* connectedClient
        const body = yield* getJson(`${unix.baseUrl}/connected-for-you`).pipe(
          Effect.provide(FleetSsh.layerNoConnection({ endpoint: unix })),
          Effect.provide(SshConnection.layerFromClient(client))
        )
        expect(body.path).toBe("/connected-for-you")
        const tcpBody = yield* getJson(`${tcp.baseUrl}/still-open`).pipe(
          Effect.provide(FleetSsh.layerNoConnection({ endpoint: tcp })),
          Effect.provide(SshConnection.layerFromClient(client))
        )
        expect(tcpBody.path).toBe("/still-open")
        expect(established()).toBe(1)
      })
    )

    it.effect("connectClient fails with a ValueError when authentication fails or the connection closes first", () =>
      Effect.gen(function* () {
        const Client = yield* ssh2Client
        const stranger = yield* newKey("client-stranger")
        const refused = new Client()
        refused.on("error", () => {})
        const error = yield* Effect.flip(
          SshConnection.connectClient(refused, {
            host: "127.0.0.1",
            port: sshd.port,
            username: "root",
            privateKey: stranger.privateKey
          })
        )
        expect(error).toEqual(
          new ValueError({ message: "Unable to connect via ssh: All configured authentication methods failed" })
        )
        const silent = yield* silentServer
        const hungUp = new Client()
        hungUp.on("error", () => {})
        const fiber = yield* SshConnection.connectClient(hungUp, {
          host: "127.0.0.1",
          port: silent.port,
          username: "root",
          privateKey: sshd.userPrivateKey
        }).pipe(Effect.flip, Effect.forkChild)
        yield* Effect.promise(() => waitFor(() => silent.open() === 1, "the connection"))
        for (const socket of silent.sockets) socket.destroy()
        expect((yield* Fiber.join(fiber)).message).toMatch(/^Unable to connect via ssh: /)
      })
    )

    it.effect("a caller's client never connected, or closed: requests fail with a Tunnel error saying so", () =>
      Effect.gen(function* () {
        const Client = yield* ssh2Client
        const unconnected = yield* getJson(`${unix.baseUrl}/unconnected`).pipe(
          Effect.flip,
          Effect.provide(FleetSsh.layerNoConnection({ endpoint: unix })),
          Effect.provide(SshConnection.layerFromClient(new Client()))
        )
        expect(message(causes(unconnected).find(isTunnelFailure))).toContain(
          'the ssh2 Client is not connected or its connection is closed (connect() it and wait for "ready")'
        )
        const ended = new Client()
        // A connection reset when the test server stops would otherwise be thrown: ssh2 emits it as "error".
        ended.on("error", () => {})
        yield* Effect.callback<void>((resume) => {
          ended.once("ready", () => ended.end())
          ended.once("close", () => resume(Effect.void))
          ended.connect({ host: "127.0.0.1", port: sshd.port, username: "root", privateKey: sshd.userPrivateKey })
        })
        const closed = yield* getJson(`${tcp.baseUrl}/closed`).pipe(
          Effect.flip,
          Effect.provide(FleetSsh.layerNoConnection({ endpoint: tcp })),
          Effect.provide(SshConnection.layerFromClient(ended))
        )
        expect(causes(closed).find(isTunnelFailure)).toBeDefined()
        expect(message(causes(closed).find(isTunnelFailure))).toContain("not connected or its connection is closed")
      })
    )

    it.effect("a host that freezes (no FIN, no RST) is dropped by keepalives; the next request connects again", () =>
      Effect.gen(function* () {
        yield* settle("no SSH connection from earlier tests", () => established() === 0 && sshd.sessions() === 0)
        yield* Effect.gen(function* () {
          expect((yield* getJson(`${tcp.baseUrl}/before-freeze`)).path).toBe("/before-freeze")
          expect(sshd.sessions()).toBeGreaterThan(0)
          yield* Effect.acquireRelease(
            Effect.sync(() => sshd.freeze()),
            (release) => Effect.sync(release)
          )
          // The frozen sessions neither answer nor close; only our side giving up takes sshd's socket out of
          // ESTABLISHED (into CLOSE_WAIT).
          yield* settle("the keepalives to drop the connection", () => established() === 0)
          expect((yield* getJson(`${tcp.baseUrl}/after-freeze`)).path).toBe("/after-freeze")
          expect(established()).toBe(1)
        }).pipe(Effect.scoped, Effect.provide(FleetSsh.layer(options(tcp, { keepaliveInterval: "200 millis" }))))
      })
    )

    it.effect("sshd killed between requests and restarted: the next request reconnects", () =>
      Effect.gen(function* () {
        const first = yield* getJson(`${tcp.baseUrl}/before-kill`)
        expect(first.path).toBe("/before-kill")
        yield* Effect.promise(() => sshd.kill())
        yield* Effect.promise(() => sshd.start())
        const second = yield* getJson(`${tcp.baseUrl}/after-restart`)
        expect(second.path).toBe("/after-restart")
        expect(established()).toBe(1)
      }).pipe(Effect.provide(FleetSsh.layer(options(tcp))))
    )

    it.effect("a request in flight when the connection drops fails with a TunnelFailure", () =>
      Effect.gen(function* () {
        yield* getJson(`${tcp.baseUrl}/warm-up`)
        const held = server.hold("/hold/in-flight")
        const fiber = yield* getJson(`${tcp.baseUrl}/hold/in-flight`).pipe(Effect.flip, Effect.forkChild)
        yield* Effect.promise(() => held)
        yield* Effect.promise(() => sshd.kill())
        const error = yield* Fiber.join(fiber)
        expect(error._tag).toBe("HttpClientError")
        expect(causes(error).some(isTunnelFailure)).toBe(true)
        yield* Effect.promise(() => sshd.start())
        const after = yield* getJson(`${tcp.baseUrl}/after-drop`)
        expect(after.path).toBe("/after-drop")
      }).pipe(Effect.provide(FleetSsh.layer(options(tcp))))
    )

    it.effect("a reconnect checks the host key again: a changed key fails the request with a TunnelFailure", () =>
      Effect.gen(function* () {
        const file = path.join(sshd.dir, "kh-reconnect")
        const { type, key } = hostLine()
        fs.writeFileSync(file, `[127.0.0.1]:${sshd.port} ${type} ${key}\n`)
        yield* Effect.gen(function* () {
          yield* getJson(`${tcp.baseUrl}/before`)
          yield* Effect.promise(() => sshd.kill())
          yield* Effect.promise(() => sshd.start())
          const other = (yield* newKey("rekey")).publicKey.split(" ")
          fs.writeFileSync(file, `[127.0.0.1]:${sshd.port} ${other[0]} ${other[1]}\n`)
          const error = yield* getJson(`${tcp.baseUrl}/after`).pipe(Effect.flip)
          const failure = causes(error).find(isTunnelFailure)
          expect(failure).toBeDefined()
          expect(message(failure)).toContain("HAS CHANGED")
        }).pipe(Effect.provide(FleetSsh.layer(options(tcp, { knownHostsFile: file }))))
      })
    )
  })

  describe("Fleet through the tunnel", () => {
    const fleetLayer = (input: string, extra: Partial<FleetSsh.Options> = {}) =>
      Layer.unwrap(
        Effect.map(Endpoint.parse(input), (endpoint) =>
          Fleet.layerHttpClient({ baseUrl: endpoint.baseUrl, endpoint: input }).pipe(
            Layer.provide(FleetSsh.layer(options(endpoint, extra)))
          )
        )
      )

    const everyOperation = (name: string) =>
      Effect.gen(function* () {
        const unit = Unit.make({
          desiredState: "loaded",
          options: [new Unit.UnitOption({ section: "Service", name: "ExecStart", value: "/usr/bin/sleep 1d" })]
        })
        const created = yield* Fleet.createUnit(name, unit)
        expect(created.name).toBe(name)
        expect(created.options).toEqual(unit.options)
        expect((yield* Fleet.getUnit(name)).desiredState).toBe("loaded")
        expect((yield* Stream.runCollect(Fleet.listUnits())).map((u) => u.name)).toContain(name)
        expect((yield* Fleet.setUnitDesiredState(name, "inactive")).desiredState).toBe("inactive")
        yield* Stream.runCollect(Fleet.listUnitStates({ unitName: name }))
        yield* Stream.runCollect(Fleet.listMachines())
        yield* Fleet.destroyUnit(name)
        const missing = yield* Fleet.getUnit(name).pipe(Effect.flip)
        expect(missing).toMatchObject({ _tag: "APIError", code: 404 })
      })

    it.effect("every operation, to the TCP endpoint and to the unix socket (both spellings, both methods)", () =>
      Effect.gen(function* () {
        const fleet = yield* FleetServer.FleetServer
        const socket = fleet.socketPath ?? ""
        yield* everyOperation("tcp@1.service").pipe(Effect.provide(fleetLayer(`http://127.0.0.1:${fleet.port}`)))
        yield* everyOperation("unix@1.service").pipe(Effect.provide(fleetLayer(`unix://${socket}`)))
        yield* everyOperation("python@1.service").pipe(
          Effect.provide(fleetLayer(`http+unix://${encodeURIComponent(socket)}`))
        )
        yield* everyOperation("fd@1.service").pipe(
          Effect.provide(fleetLayer(`unix://${socket}`, { unixSocketMethod: "fd-forward" }))
        )
      }).pipe(
        Effect.provide(FleetServer.layer({ port: 0, socketPath: path.join(sshd.dir, `fleet-${Date.now()}.sock`) }))
      )
    )

    it.effect("a tunnel that cannot be re-established is a TransportError with reason Tunnel", () =>
      Effect.gen(function* () {
        const fleet = yield* FleetServer.FleetServer
        const error = yield* Effect.gen(function* () {
          yield* Stream.runCollect(Fleet.listUnits())
          yield* Effect.promise(() => sshd.kill())
          return yield* Stream.runCollect(Fleet.listUnits()).pipe(Effect.flip)
        }).pipe(
          Effect.provide(fleetLayer(`unix://${fleet.socketPath}`)),
          Effect.ensuring(Effect.promise(() => sshd.start()))
        )
        expect(error).toMatchObject({ _tag: "TransportError", reason: "Tunnel" })
        expect(error.message).toContain(`Unable to connect to 127.0.0.1:${sshd.port}`)
      }).pipe(Effect.provide(FleetServer.layer({ socketPath: path.join(sshd.dir, `fleet-${Date.now()}.sock`) })))
    )
  })
})
