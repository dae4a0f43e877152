// Package e2e holds Vigil's end-to-end tests: they build the vigil binary,
// run `vigil run` against the real kernel with each event driver, perform
// real actions (exec, file writes in scratch copies, loopback connections,
// processes in cgroups and namespaces that look like a container's) and
// assert the alerts. The package has no code outside its tests; the
// helper program the tests run lives in e2e/helper.
//
// The tests need root and Linux. Without root they skip, unless
// VIGIL_REQUIRE_DRIVERS names the driver under test, in which case they
// fail. VIGIL_FALCO_RULES_DIR (the upstream Falco rules) enables the
// upstream-rules tests; VIGIL_E2E_VIGIL names a prebuilt vigil binary to
// test instead of building one.
package e2e
