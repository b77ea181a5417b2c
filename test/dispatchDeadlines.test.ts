import { describe, expect, it } from "@effect/vitest"
import * as Deadlines from "../src/internal/client/deadlines.ts"

const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis))

describe("the dispatcher's shared deadline timer", () => {
  it("fires a deadline once it has passed, and not one that was stopped", async () => {
    const fired: Array<string> = []
    Deadlines.watch(20, () => fired.push("a"))
    const stop = Deadlines.watch(20, () => fired.push("b"))
    stop()
    expect(fired).toEqual([])
    await sleep(60)
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
    await sleep(80)
    expect(fired).toEqual(["early"])
    // not held back until the 10 s deadline that armed the timer first
    expect(firedAfter).toBeGreaterThanOrEqual(19)
    expect(firedAfter).toBeLessThan(5_000)
    stopLate()
    expect(Deadlines.size()).toBe(0)
  })

  it("deadlines of different lengths each fire in their turn, and the timer re-arms for the rest", async () => {
    const fired: Array<number> = []
    for (const millis of [50, 10, 30]) Deadlines.watch(millis, () => fired.push(millis))
    await sleep(25)
    expect(fired).toEqual([10])
    await sleep(60)
    expect(fired).toEqual([10, 30, 50])
    expect(Deadlines.size()).toBe(0)
  })

  it("a thousand requests that settle in time leave nothing behind and fire nothing", async () => {
    let fired = 0
    const stops = Array.from({ length: 1000 }, () => Deadlines.watch(30, () => fired++))
    for (const stop of stops) stop()
    expect(Deadlines.size()).toBe(0)
    await sleep(60)
    expect(fired).toBe(0)
  })
})
