/**
 * The deadlines of the requests in flight on the undici dispatcher, on one shared timer. A timer per request
 * (`setTimeout` and `clearTimeout` around every exchange) costs more than the rest of a call's bookkeeping in a
 * fresh process; here a request adds itself to a set and removes itself when it settles, and the one timer is armed
 * for the earliest deadline only. Requests of one client share one timeout, so a new deadline is almost never the
 * earliest: the timer is re-armed about once per timeout, not once per request.
 *
 * The timer is unref'd: a request in flight always holds a socket (or its connection attempt), which keeps the
 * process alive by itself; a timer left armed after the last request must not.
 */

interface Entry {
  readonly at: number
  readonly fire: () => void
}

const pending = new Set<Entry>()
let timer: ReturnType<typeof setTimeout> | undefined
let armedAt = Number.POSITIVE_INFINITY

const arm = (at: number): void => {
  if (timer !== undefined) clearTimeout(timer)
  armedAt = at
  timer = setTimeout(sweep, Math.max(1, Math.ceil(at - performance.now())))
  timer.unref()
}

function sweep(): void {
  timer = undefined
  armedAt = Number.POSITIVE_INFINITY
  const now = performance.now()
  let next = Number.POSITIVE_INFINITY
  let thrown: { readonly error: unknown } | undefined
  // A `fire` resumes its fiber, which runs on at once and may send (and `watch`) again: such a deadline may arm the
  // timer itself, is visited by this loop, and counts for the arming below. A `fire` that throws does not keep the
  // others from firing, nor the timer from being armed for what is left; the first error is thrown afterwards.
  for (const entry of pending) {
    if (entry.at <= now) {
      pending.delete(entry)
      try {
        entry.fire()
      } catch (error) {
        thrown ??= { error }
      }
    } else if (entry.at < next) next = entry.at
  }
  if (next < armedAt) arm(next)
  if (thrown !== undefined) throw thrown.error
}

/**
 * Calls `fire` once `millis` have passed, unless the returned function is called first.
 *
 * @since 0.2.0
 * @internal
 */
export const watch = (millis: number, fire: () => void): (() => void) => {
  const entry: Entry = { at: performance.now() + millis, fire }
  pending.add(entry)
  if (entry.at < armedAt) arm(entry.at)
  return () => {
    pending.delete(entry)
  }
}

/**
 * How many deadlines are being watched (for tests: none may be left behind).
 *
 * @since 0.2.0
 * @internal
 */
export const size = (): number => pending.size
