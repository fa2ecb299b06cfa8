// Empty stand-in: k8s.io/kubernetes requires this module but none of the
// binaries built here import it.
module k8s.io/sample-apiserver

go 1.24.0
