/**
 * A tracer that keeps every span it starts, for tests that check what the client's spans carry.
 */
import { Tracer } from "effect"

/** The spans started under `tracer`, in the order they started. */
export const captureSpans = (): { readonly spans: Array<Tracer.NativeSpan>; readonly tracer: Tracer.Tracer } => {
  const spans: Array<Tracer.NativeSpan> = []
  const tracer = Tracer.make({
    span(options) {
      const span = new Tracer.NativeSpan(options)
      spans.push(span)
      return span
    }
  })
  return { spans, tracer }
}
