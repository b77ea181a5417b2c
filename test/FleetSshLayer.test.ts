import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted, Stream } from "effect"
import type { Client } from "ssh2"
import * as Fleet from "../src/Fleet.ts"
import { ValueError } from "../src/FleetError.ts"
import * as FleetServer from "../src/FleetServer.ts"
import { Machine } from "../src/Machine.ts"
import * as SshConnection from "../src/SshConnection.ts"
import * as Unit from "../src/Unit.ts"
import { establishedOn } from "./support/sshd.ts"
import { backends, type SshTestServer } from "./support/sshServer.ts"
import { captureSpans } from "./support/tracing.ts"

const sleepUnit = Unit.make({
  options: [new Unit.UnitOption({ section: "Service", name: "ExecStart", value: "/usr/bin/sleep 1d" })]
})

/** Runs the python-fleet operations once through whatever layer is given. */
const everyOperation = Effect.gen(function* () {
  const created = yield* Fleet.createUnit("web@1.service", sleepUnit)
  expect(created).toMatchObject({ name: "web@1.service", currentState: "launched", machineID: "m1" })
  expect((yield* Fleet.setUnitDesiredState(created, "loaded")).currentState).toBe("loaded")
  expect((yield* Fleet.getUnit("web@1.service")).desiredState).toBe("loaded")
  expect(yield* Fleet.listUnits().pipe(Stream.runCount)).toBe(1)
  expect(yield* Fleet.listUnitStates({ machineId: "m1" }).pipe(Stream.runCount)).toBe(1)
  expect(yield* Fleet.listMachines().pipe(Stream.runCount)).toBe(1)
  yield* Fleet.destroyUnit("web@1.service")
  expect(String(yield* Effect.flip(Fleet.getUnit("web@1.service")))).toBe("unit does not exist (404)")
})

describe.each(backends())("Fleet.layer through SSH ($name)", (backend) => {
  let sshd: SshTestServer
  let knownHosts: string
  const socketPath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "effect-fleet-ssh-")), "fleet.sock")
  const server = FleetServer.layer({
    port: 0,
    socketPath,
    seed: { machines: [new Machine({ id: "m1", primaryIP: "10.0.0.1" })] }
  })

  beforeAll(async () => {
    sshd = await backend.start()
    knownHosts = path.join(sshd.dir, "fleet_known_hosts")
    const [type, key] = sshd.hostPublicKey.split(" ")
    fs.writeFileSync(knownHosts, `[127.0.0.1]:${sshd.port} ${type} ${key}\n`)
  })
  afterAll(async () => {
    await sshd?.stop()
  })

  const ssh = () => ({
    username: "root",
    agent: "",
    privateKey: Redacted.make(sshd.userPrivateKey),
    knownHostsFile: knownHosts
  })

  it.live("sshTunnel to fleetctl's unix socket: every operation, one SSH connection, closed with the scope", () =>
    Effect.gen(function* () {
      yield* everyOperation.pipe(
        Effect.tap(() => Effect.sync(() => expect(establishedOn(sshd.port)).toBe(1))),
        Effect.provide(Fleet.layer(`unix://${socketPath}`, { sshTunnel: `127.0.0.1:${sshd.port}`, ssh: ssh() }))
      )
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 200)))
      expect(establishedOn(sshd.port)).toBe(0)
    }).pipe(Effect.provide(server))
  )

  it.live("sshTunnel to a TCP endpoint as seen from the tunnel host", () =>
    Effect.gen(function* () {
      const { port } = yield* FleetServer.FleetServer
      yield* everyOperation.pipe(
        Effect.provide(Fleet.layer(`http://127.0.0.1:${port}`, { sshTunnel: `127.0.0.1:${sshd.port}`, ssh: ssh() }))
      )
    }).pipe(Effect.provide(server))
  )

  it.live("sshClient: a connection the caller owns is used and left open", () =>
    Effect.gen(function* () {
      const { Client } = yield* Effect.promise(() => import("ssh2"))
      const client = yield* Effect.acquireRelease(
        Effect.callback<Client, Error>((resume) => {
          const c = new Client()
          // A connection reset when the test server stops would otherwise be thrown: ssh2 emits it as "error".
          c.on("error", () => {})
          c.once("ready", () => resume(Effect.succeed(c)))
          c.once("error", (error) => resume(Effect.fail(error)))
          c.connect({ host: "127.0.0.1", port: sshd.port, username: "root", privateKey: sshd.userPrivateKey })
        }),
        (c) => Effect.sync(() => c.end())
      )
      yield* everyOperation.pipe(
        Effect.provide(Fleet.layer(`http+unix://${encodeURIComponent(socketPath)}`, { sshClient: client }))
      )
      expect(establishedOn(sshd.port)).toBe(1)
    }).pipe(Effect.provide(server))
  )

  it.live("sshClient as the README shows it: SshConnection.connectClient, then Fleet.layer, on the dispatcher", () =>
    Effect.gen(function* () {
      const { Client } = yield* Effect.promise(() => import("ssh2"))
      const ssh = new Client()
      // A connection reset when the test server stops would otherwise be thrown: ssh2 emits it as "error".
      ssh.on("error", () => {})
      yield* Effect.addFinalizer(() => Effect.sync(() => ssh.end()))
      const own = Layer.unwrap(
        Effect.as(
          SshConnection.connectClient(ssh, {
            host: "127.0.0.1",
            port: sshd.port,
            username: "root",
            privateKey: sshd.userPrivateKey
          }),
          Fleet.layer(`unix://${socketPath}`, { sshClient: ssh })
        )
      )
      const { spans, tracer } = captureSpans()
      yield* Effect.gen(function* () {
        yield* everyOperation
        expect(String(yield* Effect.flip(Fleet.getUnit("nothing.service").pipe(Effect.withTracer(tracer))))).toBe(
          "unit does not exist (404)"
        )
      }).pipe(Effect.provide(own))
      expect(establishedOn(sshd.port)).toBe(1)
      // it sends on the dispatcher like every other transport: an HttpClient (the deprecated FleetSsh.layerClient's)
      // would have added a client span under the operation's
      expect(spans.map((span) => `${span.name} ${span.kind}`)).toEqual(["Fleet.getUnit internal"])
      expect(Object.fromEntries(spans[0]!.attributes)).toMatchObject({ "http.response.status_code": 404 })
    }).pipe(Effect.provide(server))
  )

  it.live("tunnel failures at build are python-fleet's ValueErrors", () =>
    Effect.gen(function* () {
      const badPort = yield* Effect.flip(
        Layer.build(Fleet.layer(`unix://${socketPath}`, { sshTunnel: "127.0.0.1:99999", ssh: ssh() }))
      )
      expect(badPort).toEqual(new ValueError({ message: "99999 is not a valid TCP port" }))
      const unknownHost = yield* Effect.flip(
        Layer.build(
          Fleet.layer(`unix://${socketPath}`, {
            sshTunnel: `127.0.0.1:${sshd.port}`,
            ssh: { ...ssh(), knownHostsFile: path.join(sshd.dir, "missing_known_hosts") }
          })
        )
      )
      expect(unknownHost.message).toContain("Strict Host Key Checking is enabled")
    }).pipe(Effect.provide(server))
  )
})
