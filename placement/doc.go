// Package placement holds the rules that decide what every node runs, shared by
// the controller, the node plumbers and kubectl-evpn so that they can never disagree:
//
//   - accept.go: which Underlays and L3VNIs are accepted, each alone and against
//     all others. A verdict depends on the objects only, never on nodes: a node
//     that joins, leaves or is relabelled can make that node fail, but never turns
//     an accepted object into a rejected one.
//   - the decision the controller publishes in each object's status
//     (status.accepted: the version nodes run, which a rejected update does not
//     replace): Verdicts.Published for the controller, Published for a reader.
//   - node.go: from the published versions and one node's facts, which Underlay
//     owns the node, which L3VNIs it runs, and what keeps it from running one.
//     Problems found there belong to that node and fail it alone.
//
// Everything here is pure: objects in, decisions out.
package placement
