/**
 * What one request can cost the local fleet server: bodies over the cap are answered 413 in fleet's shape without
 * being read (declared, chunked, or announced with `Expect: 100-continue`), a failure inside a handler is a 500 in
 * fleet's shape and is reported, and the server answers normally afterwards.
 */
import * as http from "node:http"
import * as net from "node:net"
import { Readable } from "node:stream"
import { describe, expect, it, vi } from "@effect/vitest"
import { Effect, Logger, Stream } from "effect"
import * as Fleet from "../src/Fleet.ts"
import * as FleetControl from "../src/FleetControl.ts"
import * as FleetServer from "../src/FleetServer.ts"
import * as FleetTest from "../src/FleetTest.ts"
import { LocalFleet } from "../src/internal/server/localFleet.ts"
import { createServer, defaultMaxBodyBytes } from "../src/internal/server/socketDoor.ts"
import * as Unit from "../src/Unit.ts"
import { eventually } from "./support/localFleet.ts"
import { fetchRaw, json } from "./support/rawHttp.ts"

const MiB = 1024 * 1024
const tooLarge = '{"error":{"code":413,"message":"http: request body too large"}}'
const unitBody = '{"options":[{"section":"Service","name":"ExecStart","value":"/bin/true"}]}'

interface Streamed {
  readonly status: number | undefined
  readonly body: string
  /** Bytes the client got onto the wire: an upper bound on what the server read. */
  readonly written: number
}

/** PUTs `total` bytes produced 64 KiB at a time (never held in memory), declared or chunked. */
const streamedPut = (port: number, total: number, chunked: boolean): Promise<Streamed> =>
  new Promise((resolve, reject) => {
    const chunk = Buffer.alloc(64 * 1024, 0x20)
    let produced = 0
    const source = new Readable({
      read() {
        if (produced >= total) return void this.push(null)
        produced += chunk.length
        this.push(chunk)
      }
    })
    const headers: Record<string, string> = { "Content-Type": "application/json" }
    if (!chunked) headers["Content-Length"] = String(total)
    const req = http.request({ host: "127.0.0.1", port, method: "PUT", path: "/fleet/v1/units/a.service", headers })
    let answered = false
    req.on("response", (res) => {
      answered = true
      let body = ""
      res.on("data", (data: Buffer) => {
        body += data.toString()
      })
      res.on("end", () => resolve({ status: res.statusCode, body, written: req.socket?.bytesWritten ?? produced }))
      res.on("error", reject)
    })
    // Once the server has answered and closed, the client's unfinished upload fails: expected.
    req.on("error", (error) => {
      if (!answered) reject(error)
    })
    source.pipe(req)
  })

/** Sends `head` and nothing else, and returns everything the server says before it closes or goes quiet. */
const headOnly = (port: number, head: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.write(head))
    let text = ""
    socket.on("data", (data: Buffer) => {
      text += data.toString()
      if (text.includes(tooLarge) || text.includes("100 Continue")) socket.destroy()
    })
    socket.on("close", () => resolve(text))
    socket.on("error", reject)
  })

/** Listens on a free loopback port for the scope; the port. */
const listening = (server: http.Server) =>
  Effect.acquireRelease(
    Effect.promise(
      () =>
        new Promise<number>((done) =>
          server.listen(0, "127.0.0.1", () => done((server.address() as net.AddressInfo).port))
        )
    ),
    () =>
      Effect.promise(() => {
        server.closeAllConnections()
        return new Promise<void>((done) => server.close(() => done()))
      })
  )

const getUnits = (port: number) => fetchRaw({ _tag: "Tcp", port }, { path: "/fleet/v1/units" })

describe("FleetServer request limits", () => {
  it.live("a 600 MB streamed PUT gets fleet's 413 while the server reads a bounded part of it, then serves on", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const server = yield* FleetServer.make({ port: 0 })
        const port = server.port!
        const rss = process.memoryUsage().rss
        for (const chunked of [false, true]) {
          const answer = yield* Effect.promise(() => streamedPut(port, (600 * 1024 * MiB) / 1024, chunked))
          expect([answer.status, answer.body]).toEqual([413, tooLarge])
          // Declared: nothing is read. Chunked: the cap, then a little more before the close. Socket buffers on
          // both sides hold the rest of what the client got out, far below the 600 MB.
          expect(answer.written).toBeLessThan(defaultMaxBodyBytes + 64 * MiB)
        }
        expect(process.memoryUsage().rss - rss).toBeLessThan(256 * MiB)
        const units = yield* Effect.promise(() => getUnits(port))
        expect([units.status, units.body]).toEqual([200, "{}"])
        expect((yield* server.control.requests).map((r) => r.method)).toEqual(["PUT", "PUT", "GET"])
      })
    )
  )

  it.live(
    "counts what it reads: a chunked body is read up to the cap and a short linger, a declared one not at all",
    () =>
      Effect.scoped(
        Effect.gen(function* () {
          const fleet = new LocalFleet()
          const server = createServer(fleet, { maxBodyBytes: MiB, onDefect: () => {} })
          const sockets: Array<net.Socket> = []
          server.on("connection", (socket: net.Socket) => sockets.push(socket))
          const port = yield* listening(server)
          const read = () => sockets.reduce((sum, socket) => sum + socket.bytesRead, 0)
          const declared = yield* Effect.promise(() => streamedPut(port, 64 * MiB, false))
          expect([declared.status, declared.body]).toEqual([413, tooLarge])
          expect(read()).toBeLessThan(MiB)
          const chunked = yield* Effect.promise(() => streamedPut(port, 64 * MiB, true))
          expect([chunked.status, chunked.body]).toEqual([413, tooLarge])
          expect(read()).toBeLessThan(3 * MiB)
          expect(fleet.storage.listUnits()).toEqual([])
        })
      )
  )

  it.live("the cap is an option, checked on declared and chunked bodies; at the cap a body is served", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const server = yield* FleetServer.make({ port: 0, maxBodyBytes: unitBody.length })
        const target = { _tag: "Tcp", port: server.port! } as const
        const over = yield* Effect.promise(() =>
          fetchRaw(target, { method: "PUT", path: "/fleet/v1/units/a.service", headers: json, body: unitBody + " " })
        )
        expect([over.status, over.headers["content-type"], over.headers.server, over.body]).toEqual([
          413,
          "application/json",
          "fleetd/v1.0.0",
          tooLarge
        ])
        const chunked = yield* Effect.promise(() => streamedPut(server.port!, 2 * 64 * 1024, true))
        expect([chunked.status, chunked.body]).toEqual([413, tooLarge])
        const at = yield* Effect.promise(() =>
          fetchRaw(target, { method: "PUT", path: "/fleet/v1/units/a.service", headers: json, body: unitBody })
        )
        expect(at.status).toBe(201)
      })
    )
  )

  it.live("a body over the cap is answered 413 at the door: logged with its status, it takes no queued fault", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const server = yield* FleetServer.make({ port: 0, maxBodyBytes: unitBody.length })
        const target = { _tag: "Tcp", port: server.port! } as const
        yield* server.control.failNext(1, FleetControl.Fault.Status(502, "bad gateway"))
        const declared = yield* Effect.promise(() =>
          fetchRaw(target, { method: "PUT", path: "/fleet/v1/units/a.service", headers: json, body: unitBody + " " })
        )
        expect([declared.status, declared.body]).toEqual([413, tooLarge])
        const chunked = yield* Effect.promise(() => streamedPut(server.port!, 2 * 64 * 1024, true))
        expect([chunked.status, chunked.body]).toEqual([413, tooLarge])
        // The fault is still queued: the first request let in acts it out.
        const units = yield* Effect.promise(() => getUnits(server.port!))
        expect([units.status, units.body]).toEqual([502, "bad gateway"])
        const log = (yield* server.control.requests).map((r) => [r.method, r.status, r.fault])
        expect(log).toEqual([
          ["PUT", 413, undefined],
          ["PUT", 413, undefined],
          ["GET", 502, "Status"]
        ])
      })
    )
  )

  it.live("a client announcing an oversized body with Expect: 100-continue gets 413 before sending any", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const server = yield* FleetServer.make({ port: 0, maxBodyBytes: 1000 })
        const head = (length: number) =>
          `PUT /fleet/v1/units/a.service HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${length}\r\nExpect: 100-continue\r\n\r\n`
        const refused = yield* Effect.promise(() => headOnly(server.port!, head(600 * MiB)))
        expect(refused).toMatch(/^HTTP\/1\.1 413 /)
        expect(refused).not.toContain("100 Continue")
        expect(refused.endsWith(tooLarge)).toBe(true)
        const invited = yield* Effect.promise(() => headOnly(server.port!, head(1000)))
        expect(invited).toMatch(/^HTTP\/1\.1 100 Continue\r\n/)
      })
    )
  )

  it("refuses a cap that is not a whole number of bytes", async () => {
    for (const maxBodyBytes of [-1, 1.5, Number.NaN]) {
      const error = await Effect.runPromise(Effect.flip(Effect.scoped(FleetServer.make({ port: 0, maxBodyBytes }))))
      expect(error).toMatchObject({ _tag: "ValueError" })
      expect(error.message).toContain("maxBodyBytes")
    }
  })
})

describe("FleetServer against malformed bodies", () => {
  it.live(
    "answers each in fleet's error shape and serves on: nesting a million deep, bad UTF-8, cut JSON, binary",
    () =>
      Effect.scoped(
        Effect.gen(function* () {
          const server = yield* FleetServer.make({ port: 0 })
          const target = { _tag: "Tcp", port: server.port! } as const
          const deep = "[".repeat(1_000_000) + "]".repeat(1_000_000)
          const bodies = [
            ["PUT", "/fleet/v1/units/a.service", deep],
            ["PATCH", "/fleet/v1/machines", deep],
            ["PUT", "/fleet/v1/units/a.service", '{"name":"\udcff\ud800","options":[{"section":"\u0000'],
            [
              "PUT",
              "/fleet/v1/units/a.service",
              Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31]).toString("latin1")
            ],
            ["PATCH", "/fleet/v1/machines", '[{"op":"add","path":"/m1/metadata/k","value":{"value":'],
            [
              "PUT",
              "/fleet/v1/units/a.service",
              String.fromCharCode(...Array.from({ length: 4096 }, (_, i) => i % 256))
            ]
          ] as const
          for (const [method, path, body] of bodies) {
            const answer = yield* Effect.promise(() => fetchRaw(target, { method, path, headers: json, body }))
            // Whatever fleet would say (a 400 with Go's message, or a 500), it says it as fleet does.
            expect(answer.status, `${method} ${path} ${body.slice(0, 20)}`).toBeGreaterThanOrEqual(400)
            expect(JSON.parse(answer.body)).toMatchObject({ error: { code: answer.status } })
          }
          const units = yield* Effect.promise(() => getUnits(server.port!))
          expect([units.status, units.body]).toEqual([200, "{}"])
        })
        // Some of these may be defects (logged); this test is about the answers, so it keeps the log quiet.
      ).pipe(Effect.provide(Logger.layer([])))
  )
})

describe("FleetServer handler failures", () => {
  it.live("a defect inside a handler answers 500 in fleet's shape, is reported, and the server serves on", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const fleet = new LocalFleet()
        const defects: Array<{ readonly cause: unknown; readonly url: string }> = []
        const server = createServer(fleet, {
          maxBodyBytes: MiB,
          onDefect: (cause, request) => defects.push({ cause, url: request.url })
        })
        const port = yield* listening(server)
        const boom = new Error("storage broke")
        fleet.storage.listUnits = () => {
          throw boom
        }
        const failed = yield* Effect.promise(() => getUnits(port))
        expect([failed.status, failed.headers.server, failed.body]).toEqual([
          500,
          "fleetd/v1.0.0",
          '{"error":{"code":500,"message":""}}'
        ])
        expect(defects).toEqual([{ cause: boom, url: "/fleet/v1/units" }])
        const machines = yield* Effect.promise(() => fetchRaw({ _tag: "Tcp", port }, { path: "/fleet/v1/machines" }))
        expect([machines.status, machines.body]).toEqual([200, "{}"])
      })
    )
  )
})

describe("handler failures behind either door", () => {
  const boom = new Error("currentState broke")
  const units = [
    new Unit.Unit({
      name: "a.service",
      options: [new Unit.UnitOption({ section: "Service", name: "ExecStart", value: "/bin/true" })]
    })
  ]

  /** Makes every derivation of `currentState` throw while `body` runs, and captures what is logged. */
  const withBrokenFleet = <A, E>(body: (logged: Array<unknown>) => Effect.Effect<A, E>) => {
    const logged: Array<unknown> = []
    const capture = Logger.layer([Logger.make((options) => void logged.push(options.message))])
    return Effect.acquireUseRelease(
      Effect.sync(() =>
        vi.spyOn(LocalFleet.prototype, "currentState").mockImplementation(() => {
          throw boom
        })
      ),
      () => body(logged),
      (spy) => Effect.sync(() => spy.mockRestore())
    ).pipe(Effect.provide(capture))
  }

  it.live("FleetServer answers 500 in fleet's shape, logs the defect where the program logs, and serves on", () =>
    withBrokenFleet((logged) =>
      Effect.scoped(
        Effect.gen(function* () {
          const server = yield* FleetServer.make({ port: 0, seed: { units } })
          const failed = yield* Effect.promise(() => getUnits(server.port!))
          expect([failed.status, failed.body]).toEqual([500, '{"error":{"code":500,"message":""}}'])
          yield* eventually(
            Effect.sync(() => logged.length > 0),
            "the defect to be logged"
          )
          expect(logged).toEqual([["FleetServer: GET /fleet/v1/units failed", boom]])
          const machines = yield* Effect.promise(() =>
            fetchRaw({ _tag: "Tcp", port: server.port! }, { path: "/fleet/v1/machines" })
          )
          expect(machines.status).toBe(200)
        })
      )
    )
  )

  it.live("FleetTest answers the same 500 as an APIError, logged, not a defect of the program", () =>
    withBrokenFleet((logged) =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(Fleet.listUnits().pipe(Stream.runCollect))
        expect(error).toMatchObject({ _tag: "APIError", code: 500 })
        expect(logged).toEqual([["FleetTest: GET /fleet/v1/units failed", boom]])
        expect(yield* Fleet.listMachines().pipe(Stream.runCollect)).toHaveLength(0)
      }).pipe(Effect.provide(FleetTest.layer({ seed: { units } })))
    )
  )
})
