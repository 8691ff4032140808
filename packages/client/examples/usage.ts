// What a frontend writes with @fleetgraph/client; test/e2e/client-package.test.ts installs the packed tarball
// into an empty project, type-checks this file there and runs it against a graph:
//   node usage.js <graphql url> <upload job id>
import { createFleetgraphClient, type FleetgraphResult, type FleetPageQuery } from '@fleetgraph/client';
import type { UploadJobStatus } from '@fleetgraph/client';

const [url = 'http://localhost:4000/graphql', jobId = 'job-1'] = process.argv.slice(2);
const client = createFleetgraphClient({ url });

// Partial data by default: `data` and `errors` both come back; a field that failed is null and explained.
const page: FleetgraphResult<FleetPageQuery> = await client.fleetPage({ first: 5 });
const rows = page.data?.devices?.edges.map(({ node }) => ({
  imei: node.imei,
  status: node.management?.status,
}));
console.log(JSON.stringify({ kind: 'fleetPage', status: page.status, rows, errors: page.errors.length }));

// @ts-expect-error `first` is required and is a number
void client.fleetPage({ first: 'five' }).catch(() => undefined);

// Every change to the job until it settles, over graphql-ws on the same URL.
const statuses: UploadJobStatus[] = [];
for await (const change of client.subscribeUploadJob(jobId)) {
  if (change.data) statuses.push(change.data.uploadJobChanged.status);
}
console.log(JSON.stringify({ kind: 'uploadJobChanged', statuses }));
await client.close();
