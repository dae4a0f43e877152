package driver

// Availability bits for Process fields.
const (
	ProcHasPid       Mask = 1 << iota // Pid, Tid
	ProcHasPPid                       // PPid
	ProcHasVPid                       // VPid, VTid
	ProcHasName                       // Name (comm)
	ProcHasExe                        // Exe (argv[0])
	ProcHasExePath                    // ExePath
	ProcHasArgs                       // Args
	ProcHasEnv                        // Env
	ProcHasCwd                        // Cwd
	ProcHasTTY                        // TTY
	ProcHasSID                        // SID, VPGID
	ProcHasLoginUID                   // LoginUID
	ProcHasUser                       // UID, GID, and user/group names when known
	ProcHasUserName                   // UserName, HomeDir, Shell
	ProcHasGroupName                  // GroupName
	ProcHasLoginName                  // LoginName
	ProcHasStart                      // StartTime
	ProcHasCaps                       // CapPermitted, CapEffective, CapInheritable
	ProcHasExeFlags                   // ExeWritable, ExeUpperLayer, ExeFromMemfd, ExeLowerLayer
	ProcHasExeIno                     // ExeIno, ExeInoCtime, ExeInoMtime
	ProcHasPGID                       // PGID, VPGID
	ProcHasCgroup                     // Cgroup
)

// Process is what the state layer knows about a thread group. The engine
// reads it through Event.Proc; Parent links form the ancestor chain used by
// proc.aname[N] and friends (nil ends the chain).
type Process struct {
	Has Mask

	Pid, Tid   int64 // host pid namespace
	PPid       int64
	VPid, VTid int64 // in the process's own pid namespace
	SID        int64
	PGID       int64
	VPGID      int64

	Name    string   // comm (at most 15 bytes, as the kernel keeps it)
	Exe     string   // argv[0]
	ExePath string   // full path of the executable
	Args    []string // argv[1:]
	Env     []string // KEY=VALUE
	Cwd     string   // with a trailing slash, as Falco
	TTY     uint32   // controlling terminal device number; 0 = none

	UID, GID  uint32
	LoginUID  int64 // audit loginuid; -1 when unset
	UserName  string
	HomeDir   string
	Shell     string
	GroupName string
	LoginName string // user name of LoginUID

	StartTime int64 // nanoseconds since the Unix epoch

	CapPermitted, CapEffective, CapInheritable uint64

	ExeWritable   bool // the executable is writable by the process's user
	ExeUpperLayer bool // the executable lives in an overlayfs upper layer
	ExeLowerLayer bool // the executable lives in an overlayfs lower layer
	ExeFromMemfd  bool // the executable is a memfd
	ExeIno        uint64
	ExeInoCtime   int64 // ns since epoch
	ExeInoMtime   int64 // ns since epoch

	IsVPGIDLeader bool // the process leads its process group (vpid == vpgid)
	IsSIDLeader   bool

	Parent *Process

	// Cgroup is the process's cgroup in the cgroup v2 (unified) hierarchy,
	// as a path from the hierarchy's root ("/system.slice/docker-<id>.scope",
	// "/" for the root cgroup), when the driver knows it; see ProcHasCgroup.
	// A driver that could read only the last components of a deep path
	// reports them after ".../" (".../kubepods/besteffort/pod<uid>/<id>").
	// On hosts that also mount cgroup v1 hierarchies it may not tell the
	// whole story: a container may show only in a v1 hierarchy.
	Cgroup string
}

// Availability bits for Container fields.
const (
	ContHasID         Mask = 1 << iota // ID, FullID
	ContHasName                        // Name
	ContHasImage                       // Image, ImageRepository, ImageTag
	ContHasImageID                     // ImageID, ImageDigest
	ContHasType                        // Type
	ContHasPrivileged                  // Privileged
	ContHasMounts                      // Mounts
	ContHasStart                       // StartTime
	ContHasK8s                         // PodName, PodUID, Namespace, PodLabels, K8sContainerName
	ContHasHostNS                      // HostPID, HostNetwork, HostIPC
	ContHasUser                        // User
	ContHasIP                          // IP
)

// Container holds a container's identity and metadata. ID "host" means the
// host (no container).
type Container struct {
	Has Mask

	ID              string // 12 hex characters, or "host"
	FullID          string
	Name            string
	Image           string // as given to the runtime, e.g. docker.io/library/nginx:1.27
	ImageRepository string
	ImageTag        string
	ImageID         string
	ImageDigest     string
	Type            string // docker, containerd, cri-o, podman, ...
	Privileged      bool
	Mounts          []Mount
	StartTime       int64 // ns since epoch
	User            string
	IP              string

	HostPID, HostNetwork, HostIPC bool

	PodName          string
	PodUID           string
	Namespace        string
	PodLabels        []Label
	K8sContainerName string
}

// Mount is one container mount.
type Mount struct {
	Source      string
	Dest        string
	Mode        string
	RW          bool
	Propagation string
}

// Label is a key/value pair (Kubernetes labels keep their order here so that
// outputs are stable and lookups need no map).
type Label struct {
	Key, Value string
}
