// Package pack writes the deployable archives reproducibly: the same inputs give byte-identical zips
// (entries sorted, one fixed modification time, fixed modes), so a deployment can be checked by checksum
// and Terraform sees no change when nothing changed. Zip holds the Lambda bootstrap; GCFSource collects
// the Cloud Functions source bundle: go.mod, go.sum and the Go files (and embedded files) of every
// package of this module that the root entry package needs.
package pack
