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
// test instead of building one; VIGIL_E2E_KNOWN_BUGS=1 runs the checks of
// known, reported Vigil bugs, which otherwise skip or only log.
//
// drivers (main_linux_test.go) is the per-driver expectation table: every
// scenario must alert with every driver (ebpf, fanotify, procscan, and
// ptrace, under which each command of a scenario runs in `vigil trace`:
// see observer_linux_test.go), except those a driver lists as blind spots,
// with the reason, or as known bugs. The drivers' suites run in parallel.
// TestLockdown* run vigil under seccomp filters and without capabilities
// and check the fallback driver it picks; TestChurn checks that vigil's
// descriptors do not leak under process and file churn. Each suite also lists the rules no
// scenario can trigger on a plain host, with the reason; a table test
// checks that every rule of the rules file is in one list or the other.
package e2e
