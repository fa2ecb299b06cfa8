"""The Pod Security Standards' allow-lists, shared by the admission policy's CEL rules
(components) and the syncer's own check, so the two can never disagree on what a field may
hold. Values as of Kubernetes v1.34's pod-security-admission (`policy/check_*.go`)."""

__all__ = ["BASELINE_CAPABILITIES", "RESTRICTED_VOLUMES", "SAFE_SYSCTLS", "SELINUX_TYPES"]

BASELINE_CAPABILITIES: tuple[str, ...] = (
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
)
"""The capabilities baseline lets a container add (the container runtime's defaults)."""

SAFE_SYSCTLS: tuple[str, ...] = (
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.ping_group_range",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_rmem",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.tcp_wmem",
)
"""Baseline's safe sysctls (check_sysctls.go; tcp_rmem and tcp_wmem since v1.32)."""

SELINUX_TYPES: tuple[str, ...] = (
    "",
    "container_t",
    "container_init_t",
    "container_kvm_t",
    "container_engine_t",
)
"""The SELinux types baseline allows (check_seLinuxOptions.go); user and role must be unset."""

RESTRICTED_VOLUMES: tuple[str, ...] = (
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "image",
    "persistentVolumeClaim",
    "projected",
    "secret",
)
"""The volume types restricted allows (check_restrictedVolumes.go)."""
