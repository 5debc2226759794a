// Package cgroup enforces an instance's CPU and memory limits on the process
// runtime through Linux control groups, v1 or v2 (containerd's cgroups
// package), and reports out-of-memory kills.
package cgroup
