/**
 * A per-request deadline that costs nothing while the request beats it. `Effect.timeoutOrElse` races the effect
 * against a sleeping fiber and then waits for that loser to finish its interruption, which costs every request two
 * forks and an extra turn of the event loop (about a third of a loopback round trip). Here the effect runs in one
 * child fiber and the deadline is a plain timer, cleared as soon as the child is done.
 *
 * @since 0.1.0
 * @internal
 */
import { Duration, Effect, Fiber } from "effect"

const maxTimer = 2 ** 31 - 1

/**
 * Runs `self` and fails with `onTimeout()` if it has not finished within `duration`; `self` is interrupted (and its
 * interruption awaited) before that failure is returned, as with `Effect.timeoutOrElse`.
 *
 * @since 0.1.0
 * @internal
 */
export const withDeadline = <A, E, R, E2>(
  self: Effect.Effect<A, E, R>,
  duration: Duration.Duration,
  onTimeout: () => E2
): Effect.Effect<A, E | E2, R> => {
  const millis = Duration.toMillis(duration)
  // setTimeout cannot wait longer than 2^31-1 ms (it would fire at once): such a deadline is no deadline.
  if (!(millis <= maxTimer)) return self
  return Effect.flatMap(Effect.forkChild(self, { startImmediately: true }), (fiber) =>
    Effect.callback<A, E | E2>((resume) => {
      let timer: ReturnType<typeof setTimeout> | undefined
      const stopObserving = fiber.addObserver((exit) => {
        clearTimeout(timer)
        resume(exit)
      })
      if (fiber.pollUnsafe() !== undefined) return
      timer = setTimeout(() => {
        stopObserving()
        resume(Effect.andThen(Fiber.interrupt(fiber), Effect.fail(onTimeout())))
      }, millis)
      return Effect.suspend(() => {
        clearTimeout(timer)
        stopObserving()
        return Fiber.interrupt(fiber)
      })
    })
  )
}
