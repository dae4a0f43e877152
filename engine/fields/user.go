package fields

import "github.com/vigilsec/vigil/driver"

func userFields() []*Field {
	const c = "user"
	return []*Field{
		def(c, "user.uid", TypeUint, 0, "User id the process runs as.",
			stat(procNum(TypeUint, 0, driver.ProcHasUser, func(p *driver.Process) int64 { return int64(p.UID) }))),
		def(c, "user.name", TypeString, 0, "Name of the user the process runs as (looked up in the container's own user database for containerised processes).",
			stat(strX(procGet(0, driver.ProcHasUserName, func(p *driver.Process) string { return p.UserName })))),
		def(c, "user.homedir", TypeString, 0, "Home directory of the user the process runs as.",
			stat(strX(procGet(0, driver.ProcHasUserName, func(p *driver.Process) string { return p.HomeDir })))),
		def(c, "user.shell", TypeString, 0, "Login shell of the user the process runs as.",
			stat(strX(procGet(0, driver.ProcHasUserName, func(p *driver.Process) string { return p.Shell })))),
		def(c, "user.loginuid", TypeInt, 0, "Audit login user id (auid) of the process: the user who originally logged in; -1 when unset.",
			stat(procNum(TypeInt, 0, driver.ProcHasLoginUID, func(p *driver.Process) int64 {
				if p.LoginUID == 0xffffffff {
					return -1
				}
				return p.LoginUID
			}))),
		def(c, "user.loginname", TypeString, 0, "User name of the audit login user id.",
			stat(strX(procGet(0, driver.ProcHasLoginName, func(p *driver.Process) string { return p.LoginName })))),
	}
}

func groupFields() []*Field {
	const c = "group"
	return []*Field{
		def(c, "group.gid", TypeUint, 0, "Group id the process runs as.",
			stat(procNum(TypeUint, 0, driver.ProcHasUser, func(p *driver.Process) int64 { return int64(p.GID) }))),
		def(c, "group.name", TypeString, 0, "Name of the group the process runs as.",
			stat(strX(procGet(0, driver.ProcHasGroupName, func(p *driver.Process) string { return p.GroupName })))),
	}
}
