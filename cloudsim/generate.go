package cloudsim

import (
	"encoding/base64"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// rng is a small splitmix64 generator. The simulator carries its own rather
// than math/rand so that a seed keeps producing the same world across Go
// releases: the project's tests compare archives built on different days.
type rng struct{ s uint64 }

func newRNG(seed uint64) *rng { return &rng{s: seed} }

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	return finalize(r.s)
}

// finalize is splitmix64's output mix; it also turns FNV hashes into
// well-spread seeds.
func finalize(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// float returns a uniform value in [0, 1).
func (r *rng) float() float64 { return float64(r.next()>>11) / (1 << 53) }

// intn returns a value in [0, n); the modulo bias is negligible for the
// small n used here.
func (r *rng) intn(n int) int { return int(r.next() % uint64(n)) }

// between returns a uniform integer in [lo, hi].
func (r *rng) between(lo, hi int64) int64 { return lo + int64(r.next()%uint64(hi-lo+1)) }

// exp returns an exponential variate with mean 1.
func (r *rng) exp() float64 { return -math.Log(1 - r.float()) }

// hashSeed derives an independent, stable seed from the config seed and a
// path of labels, so each record and stream gets its own randomness and does
// not depend on how many values other streams have consumed.
func hashSeed(seed int64, labels ...string) uint64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for i := range 8 {
		h ^= uint64(byte(seed >> (8 * i)))
		h *= prime
	}
	for _, l := range labels {
		h ^= 0xff // separator, so ("ab","c") and ("a","bc") differ
		h *= prime
		for j := 0; j < len(l); j++ {
			h ^= uint64(l[j])
			h *= prime
		}
	}
	return finalize(h)
}

const alnum = "abcdefghijklmnopqrstuvwxyz0123456789"

func (r *rng) alnum(n int) string {
	var b strings.Builder
	b.Grow(n)
	for range n {
		b.WriteByte(alnum[r.intn(len(alnum))])
	}
	return b.String()
}

// region holds one region's fleet, its arrival stream and its listing.
type region struct {
	name   string
	index  int
	fleet  []string
	groups []string // resource group ids sends are spread over

	arrivals *rng
	lastAt   time.Time // whole-second arrival instant of the latest send
	seq      int       // number of sends generated (materialized + pending)
	pending  *send     // the next send; exists once the clock reaches it

	// streams are the arrival processes of the other sources (commands,
	// EFLO), by source; only enabled sources have one.
	streams map[string]*stream
	nodes   []string // EFLO node ids, only when an EFLO source is enabled

	// list holds the sends still served, oldest first. Creation times are
	// strictly increasing within a region, so appending keeps it sorted by
	// the listing key and eviction only ever trims a prefix.
	list []*send
}

// send is a materialized (or pending) send plus the simulator's bookkeeping.
type send struct {
	truth   SendTruth
	region  *region
	key     sortKey
	evicted bool
	quirk   uint64 // base hash for stable per-field quirk choices
	millis  bool   // times carry milliseconds (quirks mode only)

	// Render cache for the unfiltered invocation object. It stays valid
	// until the next instance transition, because nothing else in the
	// rendering depends on the clock.
	body      []byte
	bodyOK    bool
	bodyUntil time.Time // zero: valid forever

	// Aggregate cache for the InvocationStatus filter, valid on the same
	// terms, so a filtered scan over thousands of records stays cheap.
	agg      string
	aggOK    bool
	aggUntil time.Time
}

// aggregateAt returns the send's aggregate status at now (which never
// moves backwards), recomputing only after an instance transition.
func (snd *send) aggregateAt(now time.Time) string {
	if snd.aggOK && (snd.aggUntil.IsZero() || now.Before(snd.aggUntil)) {
		return snd.agg
	}
	snd.agg = snd.truth.aggregateAt(now)
	snd.aggUntil = time.Time{}
	for i := range snd.truth.Instances {
		if nc := snd.truth.Instances[i].nextChangeAfter(now); !nc.IsZero() && (snd.aggUntil.IsZero() || nc.Before(snd.aggUntil)) {
			snd.aggUntil = nc
		}
	}
	snd.aggOK = true
	return snd.agg
}

func (s *Sim) newRegion(name string, index int, fleetIDs map[string]bool) *region {
	r := &region{
		name:     name,
		index:    index,
		arrivals: newRNG(hashSeed(s.cfg.Seed, "arrivals", name)),
		lastAt:   s.cfg.Start,
	}
	fr := newRNG(hashSeed(s.cfg.Seed, "fleet", name))
	for len(r.fleet) < s.cfg.FleetSize {
		id := "i-" + fr.alnum(20)
		if fleetIDs[id] {
			continue
		}
		fleetIDs[id] = true
		r.fleet = append(r.fleet, id)
	}
	for range 3 {
		r.groups = append(r.groups, "rg-"+fr.alnum(15))
	}
	return r
}

// prepareNext draws the next arrival of r and generates that send in full,
// so the merge in advanceTo can compare exact creation times.
func (s *Sim) prepareNext(r *region) {
	gap := int64(math.Round(r.arrivals.exp() * 86400 / s.cfg.SendsPerDay))
	// At least one second apart: with a millisecond offset inside the
	// second, creation times then stay strictly increasing per region.
	r.lastAt = r.lastAt.Add(time.Duration(max(gap, 1)) * time.Second)
	r.pending = s.buildSend(r, r.seq, r.lastAt)
	r.seq++
}

// Catalogues for generated attributes. They are small on purpose so that
// filters (Name, tags, resource group) match more than one send.
var (
	otherNames  = []string{"nginx.conf", "hosts", "sshd_config", "deploy.sh", "logrotate.conf", "env.sh", "crontab", "settings.yaml"}
	targetDirs  = []string{"/etc/app", "/etc/nginx/conf.d", "/home/user", "/root", "/opt/app/config", "/tmp"}
	pushers     = []string{"ci-pipeline", "ops-console", "terraform", "ansible"}
	tagCatalog  = []Tag{{"env", "prod"}, {"env", "staging"}, {"env", "dev"}, {"team", "web"}, {"team", "data"}, {"team", "infra"}, {"owner", "zhangsan"}, {"owner", "lisi"}, {"app", "billing"}, {"app", "gateway"}, {"cost-center", "cc-100"}, {"cost-center", "cc-200"}}
	finalWeight = []struct {
		status string
		weight float64
	}{
		{StatusSuccess, 0.80},
		{StatusFailed, 0.06},
		{StatusTimeout, 0.04},
		{StatusError, 0.03},
		{StatusAborted, 0.03},
		{StatusInvalid, 0.04},
	}
)

type errPair struct{ code, info string }

// failureCatalog pairs each terminal failure with error codes and messages
// taken from the reference documentation.
var failureCatalog = map[string][]errPair{
	StatusInvalid: {
		{"InstanceNotRunning", "the instance is not running when create task"},
		{"ClientNotRunning", "the aliyun service is not running on the instance"},
		{"ClientNeedUpgrade", "the aliyun service in the instance need upgrade"},
		{"InstanceNotExists", "the specified instance does not exists"},
		{"AccountNotExists", "the specified account does not exists"},
	},
	StatusAborted: {
		{"ClientNotResponse", "the aliyun service in the instance does not response"},
		{"ClientIsUpgrading", "the aliyun service in the instance is upgrading now"},
	},
	StatusFailed: {
		{"FileAlreadyExists", "File already exists"}, // only drawn when Overwrite is false
		{"FileCreateFail", "the file creation is failed due to unknown error"},
		{"FileAuthorityInvalid", "the authority of file is invalid"},
		{"UserGroupNotExists", "Group not exists"},
		{"FilePathInvalid", "File path is invalid"},
	},
	StatusTimeout: {
		{"DeliveryTimeout", "the command delivery has been timeout"},
	},
	StatusError: {
		{"InstanceReleased", "the specified instance has been released"},
		{"ClientNotResponse", "the aliyun service in the instance does not response"},
	},
}

// buildSend generates send number seq of region r arriving at the whole
// second at. Everything comes from a generator seeded by (seed, region,
// seq), so a send's content does not depend on any other stream.
func (s *Sim) buildSend(r *region, seq int, at time.Time) *send {
	g := newRNG(hashSeed(s.cfg.Seed, "send", r.name, fmt.Sprint(seq)))
	var id string
	for {
		id = "f-" + g.alnum(20)
		if !s.usedIDs[id] {
			break
		}
	}
	s.usedIDs[id] = true

	snd := &send{region: r, quirk: hashSeed(s.cfg.Seed, "quirk", id)}
	unit := time.Second
	creation := at
	if s.cfg.Quirks && snd.quirk%2 == 0 {
		// Half the records carry milliseconds in quirks mode, like the
		// documentation's "...46.156+08:00" sample.
		snd.millis = true
		unit = time.Millisecond
		creation = at.Add(time.Duration(g.intn(1000)) * time.Millisecond)
	}

	t := &snd.truth
	t.Region = r.name
	t.InvokeID = id
	t.CreationTime = creation
	fileAttributes(g, t)
	t.ResourceGroupID = r.groups[g.intn(len(r.groups))]
	fileContent(g, t)
	t.Tags = pickTags(g, g.intn(4))

	n := 1 + g.intn(s.cfg.MaxInstancesPerSend)
	for _, inst := range pickInstances(g, r.fleet, n) {
		t.Instances = append(t.Instances, buildInstance(g, inst, creation, unit, t.Overwrite))
	}
	snd.key = sortKey{ms: creation.UnixMilli(), id: id}
	return snd
}

// fileAttributes draws a send's file name, description and file settings.
// The draw order is part of every seed's world: do not reorder.
func fileAttributes(g *rng, t *SendTruth) {
	if g.float() < 0.6 {
		t.Name = fmt.Sprintf("app-%d.conf", 1+g.intn(20))
	} else {
		t.Name = otherNames[g.intn(len(otherNames))]
	}
	t.Description = fmt.Sprintf("Pushed by %s, change %d", pushers[g.intn(len(pushers))], 1000+g.intn(9000))
	t.TargetDir = targetDirs[g.intn(len(targetDirs))]
	t.FileOwner, t.FileGroup = "root", "root"
	switch p := g.float(); {
	case p < 0.60:
		t.FileMode = "0644"
	case p < 0.85:
		t.FileMode = "0755"
	default:
		t.FileMode = "777"
	}
	t.Overwrite = g.float() < 0.5
}

// fileContent draws a send's content and its encoding.
func fileContent(g *rng, t *SendTruth) {
	content := makeContent(g, t.Name)
	if g.float() < 0.15 {
		t.ContentType = "Base64"
		t.Content = base64.StdEncoding.EncodeToString([]byte(content))
	} else {
		t.ContentType = "PlainText"
		t.Content = content
	}
}

// makeContent writes a plausible configuration file of a few hundred bytes.
func makeContent(g *rng, name string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s - managed by the deployment pipeline, do not edit by hand\n", name)
	lines := 6 + g.intn(12)
	for i := range lines {
		fmt.Fprintf(&b, "setting_%02d = %s\n", i, g.alnum(8+g.intn(16)))
	}
	return b.String()
}

// pickTags chooses n tags with distinct keys.
func pickTags(g *rng, n int) []Tag {
	var tags []Tag
	used := map[string]bool{}
	for len(tags) < n {
		tag := tagCatalog[g.intn(len(tagCatalog))]
		if used[tag.Key] {
			continue
		}
		used[tag.Key] = true
		tags = append(tags, tag)
	}
	return tags
}

// pickInstances chooses n distinct instances by rejection, which is cheap
// because n is small next to the fleet.
func pickInstances(g *rng, fleet []string, n int) []string {
	chosen := make([]string, 0, n)
	used := make(map[int]bool, n)
	for len(chosen) < n {
		i := g.intn(len(fleet))
		if used[i] {
			continue
		}
		used[i] = true
		chosen = append(chosen, fleet[i])
	}
	return chosen
}

// randDur returns a duration in [lo, hi] in multiples of unit, so derived
// times keep the precision the API renders.
func randDur(g *rng, lo, hi, unit time.Duration) time.Duration {
	return time.Duration(g.between(int64(lo/unit), int64(hi/unit))) * unit
}

func buildInstance(g *rng, id string, creation time.Time, unit time.Duration, overwrite bool) InstanceTruth {
	it := InstanceTruth{InstanceID: id, Creation: creation}
	p := g.float()
	it.Final = finalWeight[len(finalWeight)-1].status
	for _, fw := range finalWeight {
		if p < fw.weight {
			it.Final = fw.status
			break
		}
		p -= fw.weight
	}
	if it.Final == StatusInvalid {
		// Verification fails before the file is ever delivered.
		it.Finish = creation.Add(randDur(g, time.Second, 5*time.Second, unit))
	} else {
		it.Start = creation.Add(randDur(g, time.Second, 10*time.Minute, unit))
		var run time.Duration
		switch q := g.float(); {
		case it.Final == StatusTimeout:
			run = randDur(g, 5*time.Minute, 2*time.Hour, unit)
		case q < 0.80:
			run = randDur(g, time.Second, time.Minute, unit)
		case q < 0.95:
			run = randDur(g, time.Minute, 15*time.Minute, unit)
		default:
			run = randDur(g, 15*time.Minute, 2*time.Hour, unit)
		}
		it.Finish = it.Start.Add(run)
	}
	if cat := failureCatalog[it.Final]; len(cat) > 0 {
		e := cat[g.intn(len(cat))]
		if e.code == "FileAlreadyExists" && overwrite {
			e = cat[1] // an existing file is only an error when not overwriting
		}
		it.ErrorCode, it.ErrorInfo = e.code, e.info
	}
	return it
}

// sortKey is the listing order's key: creation time in Unix milliseconds,
// then InvokeId. The listing is newest first, i.e. descending by this key.
type sortKey struct {
	ms int64
	id string
}

func (a sortKey) less(b sortKey) bool {
	if a.ms != b.ms {
		return a.ms < b.ms
	}
	return a.id < b.id
}

// insert adds a newly created send, keeping list sorted ascending by key.
// Creation times increase per region so this is an append in practice; the
// general path keeps the invariant even so.
func (r *region) insert(snd *send) {
	i := sort.Search(len(r.list), func(i int) bool { return snd.key.less(r.list[i].key) })
	r.list = append(r.list, nil)
	copy(r.list[i+1:], r.list[i:])
	r.list[i] = snd
}

// evict drops the sends older than cutoff and, with a cap, all but the
// newest maxRecords. Both only ever remove a prefix as time moves forward,
// so an evicted record never comes back.
func (r *region) evict(cutoff time.Time, maxRecords int) {
	drop := sort.Search(len(r.list), func(i int) bool { return !r.list[i].truth.CreationTime.Before(cutoff) })
	if maxRecords > 0 && len(r.list)-drop > maxRecords {
		drop = len(r.list) - maxRecords
	}
	if drop == 0 {
		return
	}
	for _, snd := range r.list[:drop] {
		snd.evicted = true
		snd.body, snd.bodyOK = nil, false // never rendered again
	}
	// Copy rather than reslice so evicted records can be collected from the
	// listing's backing array over long runs.
	r.list = append([]*send(nil), r.list[drop:]...)
}
