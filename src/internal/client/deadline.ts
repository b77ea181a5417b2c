/**
 * A per-request deadline that costs little while the request beats it. `Effect.timeoutOrElse` races the effect
 * against a sleep and then waits for the losing sleep to finish its interruption, which measured at about a third
 * of a loopback round trip per request. Here the effect and a sleep on the current `Clock` run in two child fibers;
 * when the effect wins, the sleep is interrupted without waiting for it (a `Clock` sleep stops synchronously).
 *
 * @since 0.1.0
 * @internal
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"

/**
 * Runs `self` and fails with `onTimeout()` if it has not finished within `duration` on the current `Clock` (so a
 * `TestClock` drives it); `self` is interrupted, and its interruption awaited, before that failure is returned, as
 * with `Effect.timeoutOrElse`.
 *
 * @since 0.1.0
 * @internal
 */
export const withDeadline = <A, E, R, E2>(
  self: Effect.Effect<A, E, R>,
  duration: Duration.Duration,
  onTimeout: () => E2
): Effect.Effect<A, E | E2, R> =>
  Effect.flatMap(Effect.forkChild(self, { startImmediately: true }), (work) => {
    const done = work.pollUnsafe()
    if (done !== undefined) return done
    return Effect.clockWith((clock) =>
      Effect.flatMap(Effect.forkChild(clock.sleep(duration), { startImmediately: true }), (timer) =>
        Effect.callback<A, E | E2>((resume) => {
          // `work` is still running here, so its observer cannot fire before the timer's is registered.
          const stopWork = work.addObserver((exit) => {
            stopTimer()
            timer.interruptUnsafe()
            resume(exit)
          })
          const stopTimer = timer.addObserver(() => {
            stopWork()
            resume(Effect.andThen(Fiber.interrupt(work), Effect.fail(onTimeout())))
          })
          return Effect.suspend(() => {
            stopWork()
            stopTimer()
            timer.interruptUnsafe()
            return Fiber.interrupt(work)
          })
        })
      )
    )
  })
