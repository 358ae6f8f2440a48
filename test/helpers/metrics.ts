/** Reads sealdb's Prometheus metrics: what the KMS side counted. */
export async function kmsCallCount(endpoint: string, operation: string, outcome = 'success'): Promise<number> {
  const text = await (await fetch(`${endpoint}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`sealdb_kms_calls_total{operation="${operation}",outcome="${outcome}"}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

/** The value of one unlabelled metric (0 when the server does not report it). */
export async function metricValue(endpoint: string, name: string): Promise<number> {
  const text = await (await fetch(`${endpoint}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ').pop()) : 0;
}
