/**
 * Retry schedules for fleet requests: exponential backoff with jitter, a capped delay and a capped count, recurring
 * only while the failure is transient.
 */
import * as Duration from "effect/Duration"
import * as Schedule from "effect/Schedule"
import { type FleetError, isTransient } from "../../FleetError.ts"
import type { RetryScheduleOptions } from "../../FleetOptions.ts"

/**
 * An exponential backoff with jitter that retries only transient failures.
 *
 * @since 0.2.0
 * @internal
 */
export const makeRetrySchedule = (
  options: RetryScheduleOptions = {}
): Schedule.Schedule<Duration.Duration, FleetError> => {
  const base = options.base ?? Duration.millis(100)
  const maxDelay = options.maxDelay ?? Duration.seconds(5)
  const times = options.times ?? 8
  const capped = Schedule.min([Schedule.exponential(base, options.factor ?? 2), Schedule.spaced(maxDelay)]).pipe(
    Schedule.jittered
  )
  const counted = Number.isFinite(times) ? capped.pipe(Schedule.upTo({ times })) : capped
  return counted.pipe(
    Schedule.setInputType<FleetError>(),
    Schedule.while(({ input }) => isTransient(input))
  )
}

/**
 * `makeRetrySchedule`'s defaults: `Fleet.retrySchedule`.
 *
 * @since 0.2.0
 * @internal
 */
export const retrySchedule: Schedule.Schedule<Duration.Duration, FleetError> = makeRetrySchedule()

/**
 * The watch's default: the same backoff, for as long as the failures stay transient.
 *
 * @since 0.2.0
 * @internal
 */
export const watchRetrySchedule: Schedule.Schedule<Duration.Duration, FleetError> = makeRetrySchedule({
  times: Number.POSITIVE_INFINITY
})
