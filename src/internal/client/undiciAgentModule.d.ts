// undici types only its index; its `Agent` file, which `undiciAgent.ts` imports alone, exports the same class.
declare module "undici/lib/dispatcher/agent.js" {
  import type { Agent } from "undici"
  const AgentClass: typeof Agent
  export default AgentClass
}
