package cloudsim

import (
	"fmt"
	"time"
)

// nodeFailures are the node error codes of EFLO send-file instances, by
// terminal status, from the EFLO reference pages.
var nodeFailures = map[string][]errPair{
	StatusInvalid: {
		{"NodeNotExists", "the specified node does not exist"},
		{"NodeReleased", "the specified node has been released"},
		{"NodeNotRunning", "the node is not running when create task"},
		{"ClientNotRunning", "the cloud assistant client is not running on the node"},
	},
	StatusAborted: {{"ClientNotResponse", "the cloud assistant client on the node does not response"}},
	StatusFailed: {
		{"FileAlreadyExists", "File already exists"}, // only drawn when Overwrite is false
		{"FileCreateFail", "the file creation is failed due to unknown error"},
		{"FilePathInvalid", "File path is invalid"},
	},
	StatusTimeout: {{"DeliveryTimeout", "the command delivery has been timeout"}},
	StatusError:   {{"NodeReleased", "the specified node has been released"}},
}

// initNodes generates r's EFLO node fleet from its own stream, only when an
// EFLO source is enabled.
func (s *Sim) initNodes(r *region) {
	g := newRNG(hashSeed(s.cfg.Seed, "nodes", r.name))
	seen := map[string]bool{}
	for len(r.nodes) < s.cfg.NodeFleetSize {
		id := "e01-cn-" + g.alnum(11)
		if !seen[id] {
			seen[id] = true
			r.nodes = append(r.nodes, id)
		}
	}
}

// buildEFLOSend generates EFLO send-file task number seq of r at the whole
// second at: the send-file lifecycle (buildInstance) on nodes, with node
// error codes and no tags.
func (s *Sim) buildEFLOSend(r *region, seq int, at time.Time) *task {
	g := newRNG(hashSeed(s.cfg.Seed, "task", SourceEFLOSendFile, r.name, fmt.Sprint(seq)))
	id := s.newTaskID(g, 15)
	snd := &send{region: r, quirk: hashSeed(s.cfg.Seed, "quirk", id)}
	t := &snd.truth
	t.Region, t.InvokeID, t.CreationTime = r.name, id, at
	fileAttributes(g, t)
	fileContent(g, t)
	n := 1 + g.intn(min(s.cfg.MaxInstancesPerSend, len(r.nodes)))
	for _, node := range pickInstances(g, r.nodes, n) {
		it := buildInstance(g, node, at, time.Second, t.Overwrite)
		if cat := nodeFailures[it.Final]; len(cat) > 0 {
			e := cat[g.intn(len(cat))]
			if e.code == "FileAlreadyExists" && t.Overwrite {
				e = cat[1]
			}
			it.ErrorCode, it.ErrorInfo = e.code, e.info
		}
		t.Instances = append(t.Instances, it)
	}
	snd.key = sortKey{ms: at.UnixMilli(), id: id}
	return &task{source: SourceEFLOSendFile, region: r, key: snd.key, quirk: snd.quirk, send: snd}
}
