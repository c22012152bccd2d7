// Drive Berth's /api/v3 with GitHub's own client, @octokit/rest, and print what each call answered as JSON.
// tests/api/test_octokit.py sets BERTH_API (the base URL), TOKEN (read and delete) and READ_TOKEN.
import { Octokit } from "@octokit/rest";

const baseUrl = process.env.BERTH_API;
const owner = new Octokit({ baseUrl, auth: process.env.TOKEN });
const reader = new Octokit({ baseUrl, auth: process.env.READ_TOKEN });
const anonymous = new Octokit({ baseUrl });
const container = { package_type: "container" };
const results = {};

async function step(name, call) {
  try {
    const response = await call();
    results[name] = { status: response.status ?? 200, data: response.data ?? response };
  } catch (error) {
    if (error.status === undefined) throw error;
    results[name] = { status: error.status, data: error.response?.data };
  }
}

await step("list", () => owner.rest.packages.listPackagesForAuthenticatedUser(container));
await step("paginate", async () => ({
  data: await owner.paginate(owner.rest.packages.listPackagesForAuthenticatedUser, { ...container, per_page: 1 }),
}));
await step("nested", () =>
  owner.rest.packages.getPackageForAuthenticatedUser({ ...container, package_name: "tools/release" }));
await step("user", () =>
  anonymous.rest.packages.getPackageForUser({ ...container, username: "alice", package_name: "web" }));
await step("versions", () =>
  owner.rest.packages.getAllPackageVersionsForPackageOwnedByAuthenticatedUser({ ...container, package_name: "app" }));
const versionId = results.versions.data[results.versions.data.length - 1].id;
const version = { ...container, package_name: "app", package_version_id: versionId };
await step("version", () => owner.rest.packages.getPackageVersionForAuthenticatedUser(version));
await step("deleteVersion", () => owner.rest.packages.deletePackageVersionForAuthenticatedUser(version));
await step("afterDelete", () =>
  owner.rest.packages.getAllPackageVersionsForPackageOwnedByAuthenticatedUser({ ...container, package_name: "app" }));
await step("deleted", () =>
  owner.rest.packages.getAllPackageVersionsForPackageOwnedByAuthenticatedUser({
    ...container, package_name: "app", state: "deleted",
  }));
await step("restoreVersion", () => owner.rest.packages.restorePackageVersionForAuthenticatedUser(version));
await step("afterRestore", () =>
  owner.rest.packages.getAllPackageVersionsForPackageOwnedByAuthenticatedUser({ ...container, package_name: "app" }));
await step("deletePackage", () =>
  owner.rest.packages.deletePackageForAuthenticatedUser({ ...container, package_name: "app" }));
await step("deletedPackage", () =>
  owner.rest.packages.getPackageForAuthenticatedUser({ ...container, package_name: "app" }));
await step("restorePackage", () =>
  owner.rest.packages.restorePackageForAuthenticatedUser({ ...container, package_name: "app" }));
await step("org", () =>
  owner.rest.packages.getPackageForOrganization({ ...container, org: "acme", package_name: "app" }));
await step("orgVersions", () =>
  owner.rest.packages.getAllPackageVersionsForPackageOwnedByOrg({ ...container, org: "acme", package_name: "app" }));
await step("missing", () =>
  owner.rest.packages.getPackageForUser({ ...container, username: "alice", package_name: "nothing" }));
await step("readerDelete", () =>
  reader.rest.packages.deletePackageForAuthenticatedUser({ ...container, package_name: "app" }));
await step("anonymousOwn", () =>
  anonymous.rest.packages.getPackageForAuthenticatedUser({ ...container, package_name: "app" }));
await step("anonymousPrivate", () =>
  anonymous.rest.packages.getPackageForUser({ ...container, username: "alice", package_name: "app" }));
await step("badType", () => owner.request("GET /user/packages", { package_type: "pypi" }));

process.stdout.write(JSON.stringify(results));
