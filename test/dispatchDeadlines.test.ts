import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Fleet from "../src/Fleet.ts"
import * as Deadlines from "../src/internal/client/deadlines.ts"
import { httpResponse, rawServer } from "./support/rawServer.ts"

const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis))

describe("the dispatcher's shared deadline timer", () => {
  it("fires a deadline once it has passed, and not one that was stopped", async () => {
    const fired: Array<string> = []
    Deadlines.watch(20, () => fired.push("a"))
    const stop = Deadlines.watch(20, () => fired.push("b"))
    stop()
    expect(fired).toEqual([])
    await sleep(200)
    expect(fired).toEqual(["a"])
    expect(Deadlines.size()).toBe(0)
  })

  it("an earlier deadline added after a later one still fires first", async () => {
    const fired: Array<string> = []
    const stopLate = Deadlines.watch(10_000, () => fired.push("late"))
    const started = performance.now()
    let firedAfter = 0
    Deadlines.watch(20, () => {
      fired.push("early")
      firedAfter = performance.now() - started
    })
    await sleep(200)
    expect(fired).toEqual(["early"])
    // not held back until the 10 s deadline that armed the timer first
    expect(firedAfter).toBeGreaterThanOrEqual(19)
    expect(firedAfter).toBeLessThan(5_000)
    stopLate()
    expect(Deadlines.size()).toBe(0)
  })

  it("deadlines of different lengths each fire in their turn, and the timer re-arms for the rest", async () => {
    const fired: Array<number> = []
    for (const millis of [600, 10, 300]) Deadlines.watch(millis, () => fired.push(millis))
    await sleep(150)
    expect(fired).toEqual([10])
    await sleep(700)
    expect(fired).toEqual([10, 300, 600])
    expect(Deadlines.size()).toBe(0)
  })

  it("a thousand requests that settle in time leave nothing behind and fire nothing", async () => {
    let fired = 0
    const stops = Array.from({ length: 1000 }, () => Deadlines.watch(30, () => fired++))
    for (const stop of stops) stop()
    expect(Deadlines.size()).toBe(0)
    await sleep(100)
    expect(fired).toBe(0)
  })

  it("a deadline watched from inside a firing one is armed and fires in its turn", async () => {
    const fired: Array<string> = []
    Deadlines.watch(10, () => {
      fired.push("first")
      Deadlines.watch(300, () => fired.push("second"))
    })
    await sleep(100)
    expect(fired).toEqual(["first"])
    await sleep(500)
    expect(fired).toEqual(["first", "second"])
    expect(Deadlines.size()).toBe(0)
  })

  it("a firing deadline that throws keeps neither the others from firing nor the timer from re-arming", async () => {
    const fired: Array<string> = []
    const uncaught: Array<unknown> = []
    const listeners = process.listeners("uncaughtException")
    process.removeAllListeners("uncaughtException")
    process.on("uncaughtException", (error) => uncaught.push(error))
    try {
      Deadlines.watch(10, () => {
        throw new Error("boom")
      })
      Deadlines.watch(10, () => fired.push("sibling"))
      Deadlines.watch(300, () => fired.push("later"))
      await sleep(100)
      expect(fired).toEqual(["sibling"])
      expect(uncaught).toMatchObject([{ message: "boom" }])
      await sleep(500)
      expect(fired).toEqual(["sibling", "later"])
      expect(Deadlines.size()).toBe(0)
    } finally {
      process.removeAllListeners("uncaughtException")
      for (const listener of listeners) process.on("uncaughtException", listener)
    }
  })
})

describe("requests on the dispatcher leave no deadline behind", () => {
  const unit = JSON.stringify({ name: "a.service", options: [] })

  it.live("when answered, timed out, over maxResponseBytes, or interrupted", () =>
    Effect.gen(function* () {
      const answering = yield* rawServer((_, socket) => socket.write(httpResponse(200, unit)))
      const silent = yield* rawServer(() => {})
      const huge = yield* rawServer((_, socket) =>
        socket.write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 10485760\r\n\r\n{")
      )
      const layer = (url: string, options: Fleet.LayerOptions = {}) => Fleet.layer(url, { probe: false, ...options })

      expect((yield* Fleet.getUnit("a.service").pipe(Effect.provide(layer(answering.url)))).name).toBe("a.service")
      expect(Deadlines.size()).toBe(0)

      const timedOut = yield* Effect.flip(
        Fleet.getUnit("a.service").pipe(Effect.provide(layer(silent.url, { timeout: "100 millis" })))
      )
      expect(timedOut).toMatchObject({ _tag: "TransportError", reason: "Timeout" })
      expect(Deadlines.size()).toBe(0)

      const tooLarge = yield* Effect.flip(
        Fleet.getUnit("a.service").pipe(Effect.provide(layer(huge.url, { maxResponseBytes: 1024 })))
      )
      expect(tooLarge).toMatchObject({ _tag: "TransportError", reason: "MalformedResponse" })
      expect(Deadlines.size()).toBe(0)

      const fiber = yield* Effect.forkChild(
        Fleet.getUnit("a.service").pipe(Effect.provide(layer(silent.url, { timeout: "1 hour" })))
      )
      yield* Effect.sleep("100 millis")
      expect(Deadlines.size()).toBe(1)
      yield* Fiber.interrupt(fiber)
      expect(Deadlines.size()).toBe(0)
    })
  )
})
