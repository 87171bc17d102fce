/** How the console names a deployment's strategy. */
export const STRATEGY_NAMES: Record<string, string> = {
  platform_endpoint: "Platform endpoint",
  download: "Download",
  edge_package: "Edge package",
  container: "Container",
};
