/**
 * Messages shared by several modules, worded as python-fleet words them.
 */

/**
 * python-fleet's message for a desired state that is not one of fleet's three.
 *
 * @since 0.2.0
 * @internal
 */
export const invalidStateMessage = "state must be one of: ['inactive', 'loaded', 'launched']"
