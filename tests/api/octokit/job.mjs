// Drive Berth's /api/v3 with @octokit/rest authenticated by a CI job's OIDC ID token, as a workflow does with
// GITHUB_TOKEN, and print what each call answered as JSON. tests/api/test_octokit_job_token.py sets BERTH_API
// (the base URL), JOB_TOKEN, OWNER (the job repository's owner), PACKAGE (connected to the job's repository)
// and OTHER (a private package that is not).
import { Octokit } from "@octokit/rest";

// Octokit sends a token shaped like a JWT as `authorization: bearer <token>`.
const job = new Octokit({ baseUrl: process.env.BERTH_API, auth: process.env.JOB_TOKEN });
const owner = { package_type: "container", username: process.env.OWNER };
const connected = { ...owner, package_name: process.env.PACKAGE };
const other = { ...owner, package_name: process.env.OTHER };
const results = {};

async function step(name, call) {
  try {
    const response = await call();
    results[name] = { status: response.status, data: response.data };
  } catch (error) {
    if (error.status === undefined) throw error;
    results[name] = { status: error.status, data: error.response?.data };
  }
}

await step("list", () => job.rest.packages.listPackagesForUser(owner));
await step("get", () => job.rest.packages.getPackageForUser(connected));
await step("delete", () => job.rest.packages.deletePackageForUser(connected));
await step("afterDelete", () => job.rest.packages.getPackageForUser(connected));
await step("restore", () => job.rest.packages.restorePackageForUser(connected));
await step("afterRestore", () => job.rest.packages.getPackageForUser(connected));
await step("versions", () => job.rest.packages.getAllPackageVersionsForPackageOwnedByUser(connected));
await step("other", () => job.rest.packages.getPackageForUser(other));
await step("deleteOther", () => job.rest.packages.deletePackageForUser(other));

process.stdout.write(JSON.stringify(results));
