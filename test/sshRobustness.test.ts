/**
 * The SSH floor under faults a reviewer found: a caller's client reset while in use, interruptions while a
 * connection is being made, and known_hosts files that are not what they seem.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Redacted, Scheduler, Stream } from "effect"
import * as fs from "node:fs"
import * as net from "node:net"
import * as path from "node:path"
import * as Fleet from "../src/Fleet.ts"
import { TransportError, ValueError } from "../src/FleetError.ts"
import * as Connect from "../src/internal/ssh/connect.ts"
import * as Tunnel from "../src/internal/ssh/tunnel.ts"
import * as SshConnection from "../src/SshConnection.ts"
import { silentServer } from "./support/net.ts"
import { waitFor } from "./support/sshd.ts"
import { type SshTestServer, startInProcess } from "./support/sshServer.ts"

/** A TCP proxy to `port` whose client-side connections a test can reset (RST), as a middlebox dropping them. */
const resettingProxy = (port: number) =>
  Effect.acquireRelease(
    Effect.promise(
      () =>
        new Promise<{ readonly port: number; readonly reset: () => number; readonly server: net.Server }>((resolve) => {
          const pairs = new Set<readonly [net.Socket, net.Socket]>()
          const server = net.createServer((downstream) => {
            const upstream = net.connect({ host: "127.0.0.1", port })
            const pair = [downstream, upstream] as const
            pairs.add(pair)
            for (const socket of pair) {
              socket.on("error", () => {})
              socket.once("close", () => {
                pairs.delete(pair)
                downstream.destroy()
                upstream.destroy()
              })
            }
            downstream.pipe(upstream)
            upstream.pipe(downstream)
          })
          server.listen(0, "127.0.0.1", () => {
            const address = server.address()
            resolve({
              port: typeof address === "object" && address !== null ? address.port : 0,
              reset: () => {
                const now = [...pairs]
                for (const [downstream, upstream] of now) {
                  downstream.resetAndDestroy()
                  upstream.destroy()
                }
                return now.length
              },
              server
            })
          })
        })
    ),
    ({ server, reset }) =>
      Effect.promise(() => {
        reset()
        return new Promise<void>((resolve) => server.close(() => resolve()))
      })
  )

/** Records what would have been an uncaught exception, for the duration of the scope. */
const uncaught = Effect.acquireRelease(
  Effect.sync(() => {
    const errors: Array<unknown> = []
    const record = (error: unknown) => void errors.push(error)
    process.on("uncaughtException", record)
    return { errors, record }
  }),
  ({ record }) => Effect.sync(() => process.off("uncaughtException", record))
)

describe("a caller-owned SSH client (SshConnection.fromClient)", () => {
  let sshd: SshTestServer
  beforeAll(async () => {
    sshd = await startInProcess()
  })
  afterAll(async () => {
    await sshd?.stop()
  })

  it.live("reset while a request is in flight: the request fails with a Tunnel TransportError, nothing is thrown", () =>
    Effect.gen(function* () {
      const { errors } = yield* uncaught
      const silent = yield* silentServer
      const proxy = yield* resettingProxy(sshd.port)
      const { Client } = yield* Effect.promise(() => import("ssh2"))
      // As the README's `own` example has it before this fix's note: no "error" listener of the caller's.
      const client = new Client()
      yield* Effect.addFinalizer(() => Effect.sync(() => client.destroy()))
      const own = Layer.unwrap(
        Effect.as(
          SshConnection.connectClient(client, {
            host: "127.0.0.1",
            port: proxy.port,
            username: "root",
            privateKey: sshd.userPrivateKey
          }),
          Fleet.layer(`http://127.0.0.1:${silent.port}`, { sshClient: client, probe: false })
        )
      )
      const error = yield* Effect.gen(function* () {
        const request = yield* Fleet.listMachines().pipe(Stream.runCollect, Effect.flip, Effect.forkChild)
        yield* Effect.promise(() => waitFor(() => silent.sockets.size === 1, "the request to reach the server"))
        expect(client.listenerCount("error")).toBe(1)
        expect(proxy.reset()).toBe(1)
        return yield* Fiber.join(request)
      }).pipe(Effect.provide(own))
      expect(errors.map(String)).toEqual([])
      expect(error).toBeInstanceOf(TransportError)
      expect(error).toMatchObject({ reason: "Tunnel" })
      expect(error.message).toContain("SSH tunnel failed")
      // The service's listener went with its scope: the client is the caller's again.
      expect(client.listenerCount("error")).toBe(0)
    })
  )
})

describe("a known_hosts file that exists but cannot be read", () => {
  let sshd: SshTestServer
  beforeAll(async () => {
    sshd = await startInProcess()
  })
  afterAll(async () => {
    await sshd?.stop()
  })

  it.live("accept-new fails with a ValueError naming it, and adds nothing", () =>
    Effect.gen(function* () {
      const folder = path.join(sshd.dir, "known_hosts_folder")
      fs.mkdirSync(folder)
      const error = yield* Layer.build(
        SshConnection.layer({
          tunnel: `127.0.0.1:${sshd.port}`,
          username: "root",
          agent: "",
          privateKey: Redacted.make(sshd.userPrivateKey),
          knownHostsFile: folder,
          strictHostKeyChecking: "accept-new"
        })
      ).pipe(Effect.flip, Effect.scoped)
      expect(error).toEqual(
        new ValueError({ message: `Unable to connect via ssh: the hosts file ${folder} cannot be read (EISDIR)` })
      )
      expect(fs.readdirSync(folder)).toEqual([])
    })
  )
})

// Yielding to the event loop every other operation (at 1 a fiber yields forever) opens every gap between two steps to an interruption, as a busy
// runtime could at any one of them.
const yieldingEverywhere = Effect.provideService(Scheduler.MaxOpsBeforeYield, 3)

describe("interrupted while connecting", () => {
  let sshd: SshTestServer
  beforeAll(async () => {
    sshd = await startInProcess()
  })
  afterAll(async () => {
    await sshd?.stop()
  })

  const settings = (port: number): Connect.Settings => ({
    address: { host: "127.0.0.1", port },
    username: "root",
    timeoutMs: 10_000,
    keepaliveMs: 0,
    knownHostsFile: path.join(sshd.dir, "unused_known_hosts"),
    policy: false,
    auth: []
  })

  it.live("right after the SSH handshake, before the tunnel holds the client: 10 times, no session left", () =>
    Effect.gen(function* () {
      const { Client } = yield* Effect.promise(() => import("ssh2"))
      yield* Effect.promise(() => waitFor(() => sshd.sessions() === 0, "no session from earlier tests"))
      const key = yield* Effect.promise(async () => {
        const { utils } = await import("ssh2")
        const parsed = utils.parseKey(sshd.userPrivateKey)
        if (parsed instanceof Error) throw parsed
        return Array.isArray(parsed) ? parsed[0] : parsed
      })
      for (let i = 0; i < 10; i++) {
        let interrupt = () => {}
        // Its "ready" listener comes before the handshake's: the interruption is queued before the handshake hands
        // the client back, and lands on the fiber's first yield after it.
        class Interrupting extends Client {
          constructor() {
            super()
            this.once("ready", () => setImmediate(() => interrupt()))
          }
        }
        const fiber = yield* Effect.gen(function* () {
          const tunnel = yield* Tunnel.make("test", (opened) =>
            Connect.connect(
              Interrupting,
              {
                ...settings(sshd.port),
                auth: [{ label: "key", method: { type: "publickey", username: "root", key } }]
              },
              opened
            )
          )
          yield* tunnel.get
          yield* Effect.never
        }).pipe(Effect.scoped, yieldingEverywhere, Effect.forkChild)
        interrupt = () => Effect.runFork(Fiber.interrupt(fiber))
        yield* Fiber.await(fiber)
      }
      yield* Effect.promise(() => waitFor(() => sshd.sessions() === 0, "every SSH session to be closed"))
    })
  )
})
