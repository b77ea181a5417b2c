import { describe, expect, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Exit, Fiber, Ref } from "effect"
import { TestClock } from "effect/testing"
import { withDeadline } from "../src/internal/client/deadline.ts"

const timedOut = () => "timed out" as const

describe("withDeadline", () => {
  it.effect("returns the effect's value when it finishes in time", () =>
    Effect.gen(function* () {
      const fiber = yield* Effect.forkChild(
        withDeadline(Effect.as(Effect.sleep("1 second"), 42), Duration.seconds(5), timedOut)
      )
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(fiber)).toBe(42)
    })
  )

  it.effect("passes a synchronous result and a failure through", () =>
    Effect.gen(function* () {
      expect(yield* withDeadline(Effect.succeed(1), Duration.seconds(5), timedOut)).toBe(1)
      const exit = yield* Effect.exit(withDeadline(Effect.fail("boom"), Duration.seconds(5), timedOut))
      expect(exit).toStrictEqual(Exit.fail("boom"))
    })
  )

  it.effect("fails with onTimeout on the current Clock, after interrupting the effect", () =>
    Effect.gen(function* () {
      const interrupted = yield* Ref.make(false)
      const slow = Effect.never.pipe(Effect.onInterrupt(() => Ref.set(interrupted, true)))
      const fiber = yield* Effect.forkChild(withDeadline(slow, Duration.seconds(5), timedOut))
      yield* TestClock.adjust("4 seconds")
      expect(fiber.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust("1 second")
      expect(yield* Effect.flip(Fiber.join(fiber))).toBe("timed out")
      expect(yield* Ref.get(interrupted)).toBe(true)
    })
  )

  it.effect("interrupting the caller interrupts the effect", () =>
    Effect.gen(function* () {
      const started = yield* Deferred.make<void>()
      const interrupted = yield* Ref.make(false)
      const slow = Deferred.succeed(started, undefined).pipe(
        Effect.andThen(Effect.never),
        Effect.onInterrupt(() => Ref.set(interrupted, true))
      )
      const fiber = yield* Effect.forkChild(withDeadline(slow, Duration.seconds(5), timedOut))
      yield* Deferred.await(started)
      yield* Fiber.interrupt(fiber)
      expect(yield* Ref.get(interrupted)).toBe(true)
    })
  )
})
