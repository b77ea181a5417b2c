/**
 * `Send` directly on the undici dispatcher that every transport of `Fleet.layer` is (TCP, HTTPS, unix socket, SSH
 * channels): one `Effect.callback` per request, no fiber per body, no HTTP client layer in between. Interruption,
 * the deadline and `maxResponseBytes` each abort the request on the spot.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Undici from "@effect/platform-node/Undici"
import { declaredLength, type ExchangeFailure, type Outcome, type Send, timedOut, tooLarge } from "./send.ts"
import * as Deadlines from "./deadlines.ts"
import { classify } from "./transport.ts"

const header = (value: string | ReadonlyArray<string> | undefined): string | undefined =>
  typeof value === "string" ? value : value?.[0]

const json = { "content-type": "application/json" }

/**
 * `Send` directly on an undici dispatcher, bounded by the deadline and `maxResponseBytes`, aborted on interruption.
 *
 * @since 0.2.0
 * @internal
 */
export const sendOn =
  (dispatcher: Undici.Dispatcher, maxResponseBytes: number): Send =>
  <A, E>(request: Parameters<Send>[0], timeout: Duration.Duration, outcome: Outcome<A, E>) =>
    Effect.callback<A, E>((resume) => {
      let controller: Undici.Dispatcher.DispatchController | undefined
      let settled = false
      let status: number | undefined
      let contentType: string | undefined
      let location: string | undefined
      const chunks: Array<Buffer> = []
      let total = 0

      // The outcome runs here, where undici reports the end: a throw in it is a defect of the fiber, not undici's.
      const settle = (run: () => Effect.Effect<A, E>) => {
        if (settled) return
        settled = true
        stopDeadline?.()
        let next: Effect.Effect<A, E>
        try {
          next = run()
        } catch (defect) {
          next = Effect.die(defect)
        }
        resume(next)
      }
      const fail = (failure: ExchangeFailure) => settle(() => outcome.onFailure(failure))
      // Settles first, so that undici's report of the abort it causes finds the request already answered.
      const abort = (failure: ExchangeFailure) => {
        fail(failure)
        controller?.abort(new Error(failure.detail))
      }
      const millis = Duration.toMillis(timeout)
      // past 2^31 - 1 ms a timer fires at once: such a deadline is as good as none
      const stopDeadline = millis < 2 ** 31 ? Deadlines.watch(millis, () => abort(timedOut(timeout))) : undefined

      try {
        dispatcher.dispatch(
          {
            origin: request.origin,
            path: request.path,
            method: request.method,
            ...(request.body === undefined ? {} : { body: request.body, headers: json })
          },
          {
            onRequestStart(c) {
              controller = c
              if (settled) c.abort(new Error("the request was interrupted"))
            },
            onResponseStart(c, statusCode, headers) {
              if (statusCode < 200) return
              status = statusCode
              contentType = header(headers["content-type"])
              location = header(headers.location)
              const declared = declaredLength(header(headers["content-length"]))
              if (declared !== undefined && declared > maxResponseBytes) {
                controller = c
                abort(tooLarge(maxResponseBytes, declared))
              }
            },
            onResponseData(c, chunk) {
              total += chunk.length
              if (total > maxResponseBytes) {
                controller = c
                abort(tooLarge(maxResponseBytes))
                return
              }
              chunks.push(chunk)
            },
            onResponseEnd() {
              settle(() =>
                outcome.onSuccess({
                  status: status ?? 0,
                  contentType,
                  location,
                  body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total)
                })
              )
            },
            onResponseError(_, error) {
              fail({ ...classify(error, status === undefined), cause: error })
            }
          }
        )
      } catch (error) {
        fail({ ...classify(error, true), cause: error })
      }

      return Effect.sync(() => {
        if (settled) return
        settled = true
        stopDeadline?.()
        controller?.abort(new Error("the request was interrupted"))
      })
    })
