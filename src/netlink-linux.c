/* Addresses, routes and link state through rtnetlink (no `ip`: it may be
 * missing, and parsing its output is fragile).  Each call opens its own
 * socket, sends one request and reads until the kernel's ack or dump end, so
 * there is no shared state and a route callback may itself call us. */
#include <errno.h>
#include <net/if.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/veth.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "netlink.h"

/* Our own route protocol number, unassigned in rtnetlink.h and
 * /etc/iproute2/rt_protos.  The kernel ignores values above RTPROT_STATIC,
 * but they let an admin tell our routes apart and clean up after a crash:
 * `ip route show proto 77`, `ip route flush proto 77`. */
#define RTPROT_SSHTUN 77

#define NL_REQ_MAX 256			/* our largest request is ~80 bytes */
#define NL_RECV_MAX (16 * 1024)		/* dumps are sized to what we read */
#define NL_TIMEOUT_SEC 5		/* a reply never takes this long */

struct nl_req {
	union {
		struct nlmsghdr nh;
		char buf[NL_REQ_MAX];
	} u;
	int overflow;
};

typedef int (*nl_reply_fn)(const struct nlmsghdr *nh, void *ctx);

static unsigned nl_seq;

static void *nl_begin(struct nl_req *req, uint16_t type, uint16_t flags, size_t hdrlen)
{
	memset(req, 0, sizeof(*req));
	req->u.nh.nlmsg_len = NLMSG_LENGTH(hdrlen);
	req->u.nh.nlmsg_type = type;
	req->u.nh.nlmsg_flags = NLM_F_REQUEST | flags;
	return NLMSG_DATA(&req->u.nh);
}

/* Appends an attribute; an overflow is reported once, by nl_talk. */
static void nl_attr(struct nl_req *req, unsigned short type, const void *data, size_t len)
{
	size_t off = NLMSG_ALIGN(req->u.nh.nlmsg_len);
	struct rtattr *rta;

	if (off + RTA_SPACE(len) > sizeof(req->u.buf)) {
		req->overflow = 1;
		return;
	}
	rta = (struct rtattr *)(req->u.buf + off);
	rta->rta_type = type;
	rta->rta_len = RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(rta), data, len);
	req->u.nh.nlmsg_len = off + RTA_SPACE(len);
}

static void nl_attr_u32(struct nl_req *req, unsigned short type, uint32_t v)
{
	nl_attr(req, type, &v, sizeof(v));
}

static size_t addr_len(int family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

static int prefix_ok(const struct inet_prefix *p)
{
	return p && addr_len(p->family) && p->plen <= addr_len(p->family) * 8;
}

/* One message of a reply.  Messages for another sequence number (a stale
 * request) are skipped; *done is set by the ack, an error or a dump's end. */
static int nl_handle(const struct nlmsghdr *nh, unsigned seq, nl_reply_fn fn, void *ctx, int *done)
{
	int err = 0;

	if (nh->nlmsg_seq != seq)
		return 0;
	switch (nh->nlmsg_type) {
	case NLMSG_ERROR:	/* error 0 is the ack */
		*done = 1;
		if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr)))
			return -EBADMSG;
		memcpy(&err, NLMSG_DATA(nh), sizeof(err));
		return err > 0 ? -err : err;
	case NLMSG_DONE:	/* ends a dump; any payload is the dump's error */
		*done = 1;
		if (nh->nlmsg_len >= NLMSG_LENGTH(sizeof(err)))
			memcpy(&err, NLMSG_DATA(nh), sizeof(err));
		return err < 0 ? err : 0;
	case NLMSG_OVERRUN:
		*done = 1;
		return -ENOBUFS;
	}
	if (nh->nlmsg_type < NLMSG_MIN_TYPE || !fn)
		return 0;
	return fn(nh, ctx);
}

/* NLMSG_OK without the macro's signed/unsigned comparison (clang warns). */
static int nl_ok(const struct nlmsghdr *nh, int len)
{
	return len >= (int)sizeof(*nh) && nh->nlmsg_len >= sizeof(*nh) &&
	       nh->nlmsg_len <= (unsigned)len;
}

/* Sends req and feeds each reply to fn until the ack (NLM_F_ACK) or the
 * end of a dump.  Returns 0, fn's first error, or the kernel's -errno. */
static int nl_talk(struct nl_req *req, nl_reply_fn fn, void *ctx)
{
	union {		/* on the stack: a callback may call us again */
		struct nlmsghdr nh;
		char buf[NL_RECV_MAX];
	} rx;
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	struct timeval tv = { .tv_sec = NL_TIMEOUT_SEC };
	int one = 1, fd, err = 0, done = 0;
	unsigned seq;

	if (req->overflow)
		return -EMSGSIZE;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	/* Bounded wait, and acks without a copy of our request. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));

	seq = ++nl_seq;
	req->u.nh.nlmsg_seq = seq;
	if (sendto(fd, req->u.buf, req->u.nh.nlmsg_len, 0,
		   (struct sockaddr *)&kernel, sizeof(kernel)) < 0) {
		err = -errno;
		goto out;
	}
	while (!done && !err) {
		struct sockaddr_nl from;
		struct iovec iov = { rx.buf, sizeof(rx.buf) };
		struct msghdr msg = {
			.msg_name = &from, .msg_namelen = sizeof(from),
			.msg_iov = &iov, .msg_iovlen = 1,
		};
		ssize_t n = recvmsg(fd, &msg, 0);
		const struct nlmsghdr *nh;
		int len;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = errno == EAGAIN ? -ETIMEDOUT : -errno;
			break;
		}
		if (msg.msg_flags & MSG_TRUNC) {
			err = -EMSGSIZE;
			break;
		}
		/* Only the kernel (port 0) answers; other processes may
		 * send to our port too. */
		if (msg.msg_namelen != sizeof(from) || from.nl_pid != 0)
			continue;
		len = (int)n;
		for (nh = &rx.nh; !done && !err && nl_ok(nh, len); nh = NLMSG_NEXT(nh, len))
			err = nl_handle(nh, seq, fn, ctx, &done);
	}
out:
	close(fd);
	return err;
}

/* Fills tb[type] with the first attribute of each type up to max; only
 * attributes whose length fits the message are kept. */
static void nl_parse(const struct rtattr **tb, int max, const struct rtattr *rta, int len)
{
	memset(tb, 0, sizeof(*tb) * (max + 1));
	for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len))
		if (rta->rta_type <= max && !tb[rta->rta_type])
			tb[rta->rta_type] = rta;
}

static int rta_u32(const struct rtattr *rta, uint32_t *v)
{
	if (!rta || RTA_PAYLOAD(rta) != sizeof(*v))
		return -1;
	memcpy(v, RTA_DATA(rta), sizeof(*v));
	return 0;
}

static int rta_addr(const struct rtattr *rta, int family, struct inet_prefix *p)
{
	size_t alen = addr_len(family);

	if (!rta || !alen || RTA_PAYLOAD(rta) != alen)
		return -1;
	p->family = family;
	memcpy(&p->addr, RTA_DATA(rta), alen);
	p->plen = alen * 8;
	return 0;
}

bool net_ifname_ok(const char *name)
{
	size_t len = strlen(name);
	int patterns = 0;

	if (!len || len >= IFNAMSIZ || name[0] == '-' || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (const char *c = name; *c; c++) {
		if (*c == '%' && c[1] == 'd' && !patterns++)
			c++;
		else if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			   (*c >= '0' && *c <= '9') || *c == '.' || *c == '_' || *c == '-'))
			return false;
	}
	return true;
}

int net_link_index(const char *ifname)
{
	unsigned idx = if_nametoindex(ifname);

	return idx ? (int)idx : -ENODEV;
}

int net_link_set(int ifindex, unsigned mtu, bool up)
{
	struct nl_req req;
	struct ifinfomsg *ifi = nl_begin(&req, RTM_NEWLINK, NLM_F_ACK, sizeof(*ifi));

	if (ifindex <= 0)
		return -EINVAL;
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	ifi->ifi_flags = up ? IFF_UP : 0;
	ifi->ifi_change = IFF_UP;	/* touch no other flag */
	if (mtu)
		nl_attr_u32(&req, IFLA_MTU, mtu);
	return nl_talk(&req, NULL, NULL);
}

int net_link_del(int ifindex)
{
	struct nl_req req;
	struct ifinfomsg *ifi = nl_begin(&req, RTM_DELLINK, NLM_F_ACK, sizeof(*ifi));

	if (ifindex <= 0)
		return -EINVAL;
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	return nl_talk(&req, NULL, NULL);
}

struct tun_queues_ctx {
	int ifindex, found;
	unsigned queues;
};

/* RTM_NEWLINK's IFLA_LINKINFO: kind "tun", and in its data the queue
 * counts (Linux 4.15).  Anything else leaves found 0. */
static int tun_queues_cb(const struct nlmsghdr *nh, void *arg)
{
	struct tun_queues_ctx *c = arg;
	const struct rtattr *tb[IFLA_MAX + 1], *info[IFLA_INFO_MAX + 1], *tun[IFLA_TUN_MAX + 1];
	const struct ifinfomsg *ifi = NLMSG_DATA(nh);
	uint32_t attached, detached;
	int len = (int)nh->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*ifi));

	if (nh->nlmsg_type != RTM_NEWLINK || len < 0 || ifi->ifi_index != c->ifindex)
		return 0;
	nl_parse(tb, IFLA_MAX, IFLA_RTA(ifi), len);
	if (!tb[IFLA_LINKINFO])
		return 0;
	nl_parse(info, IFLA_INFO_MAX, RTA_DATA(tb[IFLA_LINKINFO]), (int)RTA_PAYLOAD(tb[IFLA_LINKINFO]));
	if (!info[IFLA_INFO_KIND] || RTA_PAYLOAD(info[IFLA_INFO_KIND]) < 4 ||
	    memcmp(RTA_DATA(info[IFLA_INFO_KIND]), "tun", 4) || !info[IFLA_INFO_DATA])
		return 0;
	nl_parse(tun, IFLA_TUN_MAX, RTA_DATA(info[IFLA_INFO_DATA]), (int)RTA_PAYLOAD(info[IFLA_INFO_DATA]));
	if (!tun[IFLA_TUN_MULTI_QUEUE] || RTA_PAYLOAD(tun[IFLA_TUN_MULTI_QUEUE]) != 1 ||
	    !*(const uint8_t *)RTA_DATA(tun[IFLA_TUN_MULTI_QUEUE]) ||
	    rta_u32(tun[IFLA_TUN_NUM_QUEUES], &attached) < 0 ||
	    rta_u32(tun[IFLA_TUN_NUM_DISABLED_QUEUES], &detached) < 0)
		return 0;
	c->found = 1;
	c->queues = attached + detached;
	return 0;
}

int net_tun_queues(int ifindex, unsigned *queues)
{
	struct tun_queues_ctx c = { .ifindex = ifindex };
	struct nl_req req;
	struct ifinfomsg *ifi = nl_begin(&req, RTM_GETLINK, NLM_F_ACK, sizeof(*ifi));
	int rc;

	if (ifindex <= 0)
		return -EINVAL;
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	rc = nl_talk(&req, tun_queues_cb, &c);
	if (rc < 0)
		return rc;
	if (!c.found)
		return -EOPNOTSUPP;
	*queues = c.queues;
	return 0;
}

static int addr_msg(uint16_t type, uint16_t flags, int ifindex, const struct inet_prefix *local)
{
	struct nl_req req;
	struct ifaddrmsg *ifa = nl_begin(&req, type, NLM_F_ACK | flags, sizeof(*ifa));
	size_t alen;

	if (ifindex <= 0 || !prefix_ok(local))
		return -EINVAL;
	alen = addr_len(local->family);
	ifa->ifa_family = local->family;
	ifa->ifa_prefixlen = local->plen;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = ifindex;
	/* No duplicate address detection: the address is ours by agreement
	 * with the peer and must be usable the moment the tunnel is up. */
	if (local->family == AF_INET6)
		ifa->ifa_flags = IFA_F_NODAD;
	/* Same local and address: a plain prefix, not a point-to-point peer. */
	nl_attr(&req, IFA_LOCAL, &local->addr, alen);
	nl_attr(&req, IFA_ADDRESS, &local->addr, alen);
	return nl_talk(&req, NULL, NULL);
}

int net_addr_add(int ifindex, const struct inet_prefix *local)
{
	/* REPLACE makes a re-add (reconnect) succeed instead of -EEXIST. */
	return addr_msg(RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, ifindex, local);
}

int net_addr_del(int ifindex, const struct inet_prefix *local)
{
	return addr_msg(RTM_DELADDR, 0, ifindex, local);
}

/* The kernel refuses an IPv4 route whose host bits are set; clear them so
 * "198.51.100.7/24" means its network for both families. */
static void prefix_mask(struct inet_prefix *p)
{
	uint8_t *b = (uint8_t *)&p->addr;
	size_t alen = addr_len(p->family);

	for (size_t i = 0; i < alen; i++) {
		unsigned keep = p->plen > i * 8 ? p->plen - i * 8 : 0;

		if (keep < 8)
			b[i] &= (uint8_t)(0xff00 >> keep);
	}
}

static struct rtmsg *route_begin(struct nl_req *req, uint16_t type, uint16_t flags,
				 const struct inet_prefix *dst, int ifindex)
{
	struct rtmsg *rtm = nl_begin(req, type, NLM_F_ACK | flags, sizeof(*rtm));
	struct inet_prefix net = *dst;

	prefix_mask(&net);
	rtm->rtm_family = dst->family;
	rtm->rtm_dst_len = dst->plen;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_type = RTN_UNICAST;
	nl_attr(req, RTA_DST, &net.addr, addr_len(dst->family));
	if (ifindex > 0)
		nl_attr_u32(req, RTA_OIF, ifindex);
	return rtm;
}

int net_route_add(const struct inet_prefix *dst, int ifindex, const struct inet_prefix *gateway)
{
	return net_route_add_metric(dst, ifindex, gateway, 0);
}

int net_route_add_metric(const struct inet_prefix *dst, int ifindex, const struct inet_prefix *gateway,
			 unsigned metric)
{
	struct nl_req req;
	struct rtmsg *rtm;
	int via = gateway && gateway->family;

	if (ifindex <= 0 || !prefix_ok(dst) || (via && gateway->family != dst->family))
		return -EINVAL;
	/* EXCL: a route someone else put there must not be taken over. */
	rtm = route_begin(&req, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, dst, ifindex);
	rtm->rtm_protocol = RTPROT_SSHTUN;
	rtm->rtm_scope = via ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	if (via)
		nl_attr(&req, RTA_GATEWAY, &gateway->addr, addr_len(gateway->family));
	if (metric)
		nl_attr_u32(&req, RTA_PRIORITY, metric);
	return nl_talk(&req, NULL, NULL);
}

int net_route_del(const struct inet_prefix *dst, int ifindex)
{
	struct nl_req req;
	struct rtmsg *rtm;

	if (!prefix_ok(dst))
		return -EINVAL;
	rtm = route_begin(&req, RTM_DELROUTE, 0, dst, ifindex);
	/* Match any protocol and scope: delete what `ip route add` made too. */
	rtm->rtm_protocol = RTPROT_UNSPEC;
	rtm->rtm_scope = RT_SCOPE_NOWHERE;
	return nl_talk(&req, NULL, NULL);
}

int net_route_del_ours(const struct inet_prefix *dst, int ifindex)
{
	struct nl_req req;
	struct rtmsg *rtm;

	if (!prefix_ok(dst) || ifindex <= 0)
		return -EINVAL;
	rtm = route_begin(&req, RTM_DELROUTE, 0, dst, ifindex);
	rtm->rtm_protocol = RTPROT_SSHTUN;
	rtm->rtm_scope = RT_SCOPE_NOWHERE;
	return nl_talk(&req, NULL, NULL);
}

int net_route_table(bool add, const struct inet_prefix *dst, int ifindex, uint32_t table)
{
	struct nl_req req;
	struct rtmsg *rtm;

	if (ifindex <= 0 || !prefix_ok(dst) || table <= RT_TABLE_LOCAL)
		return -EINVAL;
	rtm = route_begin(&req, add ? RTM_NEWROUTE : RTM_DELROUTE, add ? NLM_F_CREATE | NLM_F_EXCL : 0, dst,
			  ifindex);
	/* Past 255 a table travels in RTA_TABLE alone. */
	rtm->rtm_table = RT_TABLE_UNSPEC;
	nl_attr_u32(&req, RTA_TABLE, table);
	rtm->rtm_protocol = RTPROT_SSHTUN;
	rtm->rtm_scope = add ? RT_SCOPE_LINK : RT_SCOPE_NOWHERE;
	return nl_talk(&req, NULL, NULL);
}

int net_rule_uid(bool add, const struct inet_prefix *dst, uint32_t uid, uint32_t table, uint32_t priority)
{
	struct fib_rule_uid_range range = { uid, uid };
	struct inet_prefix net;
	struct fib_rule_hdr *frh;
	struct nl_req req;

	if (!prefix_ok(dst) || table <= RT_TABLE_LOCAL || uid == UINT32_MAX)
		return -EINVAL;
	net = *dst;
	prefix_mask(&net);
	frh = nl_begin(&req, add ? RTM_NEWRULE : RTM_DELRULE, NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0),
		       sizeof(*frh));
	frh->family = (uint8_t)dst->family;
	frh->dst_len = (uint8_t)dst->plen;
	frh->action = FR_ACT_TO_TBL;
	frh->table = RT_TABLE_UNSPEC;
	if (dst->plen)
		nl_attr(&req, FRA_DST, &net.addr, addr_len(dst->family));
	nl_attr_u32(&req, FRA_TABLE, table);
	nl_attr_u32(&req, FRA_PRIORITY, priority);
	nl_attr(&req, FRA_UID_RANGE, &range, sizeof(range));
	if (add) {
		uint8_t proto = RTPROT_SSHTUN;

		nl_attr(&req, FRA_PROTOCOL, &proto, 1);
	}
	return nl_talk(&req, NULL, NULL);
}

/* Opens a nested attribute; nl_nest_end sets its length once its
 * contents are in.  NULL on overflow (nl_talk reports it). */
static struct rtattr *nl_nest(struct nl_req *req, unsigned short type)
{
	struct rtattr *rta = (struct rtattr *)(req->u.buf + NLMSG_ALIGN(req->u.nh.nlmsg_len));

	nl_attr(req, type, NULL, 0);
	return req->overflow ? NULL : rta;
}

static void nl_nest_end(struct nl_req *req, struct rtattr *rta)
{
	if (rta)
		rta->rta_len = (unsigned short)(req->u.buf + req->u.nh.nlmsg_len - (char *)rta);
}

int net_veth_add(const char *name, const char *peer, int peer_netns_fd)
{
	struct nl_req req;
	struct ifinfomsg *ifi = nl_begin(&req, RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, sizeof(*ifi));
	struct rtattr *info, *data, *pe;
	struct ifinfomsg pifi = { .ifi_family = AF_UNSPEC };
	uint32_t nsfd = (uint32_t)peer_netns_fd;

	if (!net_ifname_ok(name) || !net_ifname_ok(peer) || strchr(name, '%') || strchr(peer, '%') ||
	    peer_netns_fd < 0)
		return -EINVAL;
	ifi->ifi_family = AF_UNSPEC;
	nl_attr(&req, IFLA_IFNAME, name, strlen(name) + 1);
	info = nl_nest(&req, IFLA_LINKINFO);
	nl_attr(&req, IFLA_INFO_KIND, "veth", 5);
	data = nl_nest(&req, IFLA_INFO_DATA);
	/* The peer: an ifinfomsg of its own, then its attributes. */
	pe = nl_nest(&req, VETH_INFO_PEER);
	if (pe && NLMSG_ALIGN(req.u.nh.nlmsg_len) + sizeof(pifi) <= sizeof(req.u.buf)) {
		memcpy(req.u.buf + req.u.nh.nlmsg_len, &pifi, sizeof(pifi));
		req.u.nh.nlmsg_len += sizeof(pifi);
	} else {
		req.overflow = 1;
	}
	nl_attr(&req, IFLA_IFNAME, peer, strlen(peer) + 1);
	nl_attr_u32(&req, IFLA_NET_NS_FD, nsfd);
	nl_nest_end(&req, pe);
	nl_nest_end(&req, data);
	nl_nest_end(&req, info);
	return nl_talk(&req, NULL, NULL);
}

int net_rule_src(bool add, const struct inet_prefix *src, uint32_t table, uint32_t priority)
{
	struct fib_rule_hdr *frh;
	struct nl_req req;

	if (!prefix_ok(src) || table <= RT_TABLE_LOCAL)
		return -EINVAL;
	frh = nl_begin(&req, add ? RTM_NEWRULE : RTM_DELRULE, NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0),
		       sizeof(*frh));
	frh->family = (uint8_t)src->family;
	frh->src_len = (uint8_t)src->plen;
	frh->action = FR_ACT_TO_TBL;
	frh->table = RT_TABLE_UNSPEC;
	nl_attr(&req, FRA_SRC, &src->addr, addr_len(src->family));
	nl_attr_u32(&req, FRA_TABLE, table);
	nl_attr_u32(&req, FRA_PRIORITY, priority);
	if (add) {
		uint8_t proto = RTPROT_SSHTUN;

		nl_attr(&req, FRA_PROTOCOL, &proto, 1);
	}
	return nl_talk(&req, NULL, NULL);
}

/* An unreachable route (RTN_UNREACHABLE, ours): what a family the tunnel
 * does not carry gets in a full tunnel.  No interface: it is not tied to
 * the TUN, so it must be deleted (and recorded) on its own. */
int net_route_unreachable(bool add, const struct inet_prefix *dst)
{
	struct nl_req req;
	struct rtmsg *rtm;

	if (!prefix_ok(dst))
		return -EINVAL;
	rtm = route_begin(&req, add ? RTM_NEWROUTE : RTM_DELROUTE, add ? NLM_F_CREATE | NLM_F_EXCL : 0, dst, 0);
	rtm->rtm_type = RTN_UNREACHABLE;
	rtm->rtm_protocol = RTPROT_SSHTUN;
	rtm->rtm_scope = add ? RT_SCOPE_UNIVERSE : RT_SCOPE_NOWHERE;
	return nl_talk(&req, NULL, NULL);
}

/* A route message's header and attributes, or -1 when it is too short. */
static int route_parse(const struct nlmsghdr *nh, const struct rtmsg **rtm,
		       const struct rtattr **tb)
{
	if (nh->nlmsg_type != RTM_NEWROUTE || nh->nlmsg_len < NLMSG_SPACE(sizeof(**rtm)))
		return -1;
	*rtm = NLMSG_DATA(nh);
	nl_parse(tb, RTA_MAX, RTM_RTA(*rtm), (int)RTM_PAYLOAD(nh));
	return 0;
}

struct route_get_ctx {
	int found, ifindex;
	struct inet_prefix *gateway;
};

static int route_get_cb(const struct nlmsghdr *nh, void *arg)
{
	struct route_get_ctx *c = arg;
	const struct rtattr *tb[RTA_MAX + 1];
	const struct rtmsg *rtm;
	uint32_t oif;

	if (route_parse(nh, &rtm, tb) < 0 || c->found)
		return 0;
	if (rta_u32(tb[RTA_OIF], &oif) < 0 || oif == 0 || oif > INT32_MAX)
		return -ENETUNREACH;
	c->found = 1;
	c->ifindex = (int)oif;
	/* An IPv4 route via an IPv6 next hop (RTA_VIA) reads as on-link;
	 * we never install one and pinning works through the ifindex. */
	if (rta_addr(tb[RTA_GATEWAY], rtm->rtm_family, c->gateway) < 0)
		memset(c->gateway, 0, sizeof(*c->gateway));
	return 0;
}

int net_route_get(const struct inet_prefix *addr, int *ifindex, struct inet_prefix *gateway)
{
	struct route_get_ctx c = { .gateway = gateway };
	struct inet_prefix host;
	struct nl_req req;
	struct rtmsg *rtm;
	int err;

	if (!prefix_ok(addr) || !ifindex || !gateway)
		return -EINVAL;
	host = *addr;
	host.plen = addr_len(addr->family) * 8;
	rtm = nl_begin(&req, RTM_GETROUTE, NLM_F_ACK, sizeof(*rtm));
	rtm->rtm_family = host.family;
	rtm->rtm_dst_len = host.plen;
	nl_attr(&req, RTA_DST, &host.addr, addr_len(host.family));
	err = nl_talk(&req, route_get_cb, &c);
	if (err < 0)
		return err;
	if (!c.found)
		return -ENETUNREACH;
	*ifindex = c.ifindex;
	return 0;
}

/* One main-table unicast route with a single output interface, from a
 * dump: its prefix, interface and protocol.  Returns 0, or -1 for a route
 * that is none of that (other tables, cached, multipath, malformed). */
static int route_entry(const struct nlmsghdr *nh, struct inet_prefix *dst, uint32_t *oif,
		       uint8_t *protocol)
{
	const struct rtattr *tb[RTA_MAX + 1];
	const struct rtmsg *rtm;
	uint32_t table;

	if (route_parse(nh, &rtm, tb) < 0)
		return -1;
	/* Tables above 255 show as RT_TABLE_COMPAT here and in RTA_TABLE. */
	table = rtm->rtm_table;
	rta_u32(tb[RTA_TABLE], &table);
	if (table != RT_TABLE_MAIN || rtm->rtm_type != RTN_UNICAST || (rtm->rtm_flags & RTM_F_CLONED))
		return -1;
	if (rta_u32(tb[RTA_OIF], oif) < 0 || *oif == 0 || *oif > INT32_MAX)
		return -1;
	if ((rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6) ||
	    rtm->rtm_dst_len > addr_len(rtm->rtm_family) * 8)
		return -1;
	memset(dst, 0, sizeof(*dst));
	dst->family = rtm->rtm_family;
	/* No RTA_DST is only right for the default route (plen 0). */
	if ((tb[RTA_DST] || rtm->rtm_dst_len) && rta_addr(tb[RTA_DST], rtm->rtm_family, dst) < 0)
		return -1;
	dst->plen = rtm->rtm_dst_len;
	*protocol = rtm->rtm_protocol;
	return 0;
}

static int route_dump(int (*cb)(const struct nlmsghdr *nh, void *arg), void *ctx)
{
	struct nl_req req;
	struct rtmsg *rtm;

	/* AF_UNSPEC: one dump returns both families. */
	rtm = nl_begin(&req, RTM_GETROUTE, NLM_F_DUMP, sizeof(*rtm));
	rtm->rtm_family = AF_UNSPEC;
	return nl_talk(&req, cb, ctx);
}

struct route_dump_ctx {
	net_route_dump_fn fn;
	void *ctx;
};

/* Every route, the kernel's connected ones included: what the machine
 * reaches where. */
static int route_dump_cb(const struct nlmsghdr *nh, void *arg)
{
	struct route_dump_ctx *c = arg;
	struct inet_prefix dst;
	uint32_t oif;
	uint8_t protocol;

	if (route_entry(nh, &dst, &oif, &protocol) == 0)
		c->fn(&dst, (int)oif, c->ctx);
	return 0;
}

int net_route_dump(net_route_dump_fn fn, void *ctx)
{
	struct route_dump_ctx c = { .fn = fn, .ctx = ctx };

	return route_dump(route_dump_cb, &c);
}

struct gateway_dump_ctx {
	net_gateway_fn fn;
	void *ctx;
};

static int gateway_dump_cb(const struct nlmsghdr *nh, void *arg)
{
	struct gateway_dump_ctx *c = arg;
	const struct rtattr *tb[RTA_MAX + 1];
	const struct rtmsg *rtm;
	struct inet_prefix dst, gw = { 0 };
	uint32_t oif;
	uint8_t protocol;

	if (route_entry(nh, &dst, &oif, &protocol) < 0 || route_parse(nh, &rtm, tb) < 0 ||
	    rta_addr(tb[RTA_GATEWAY], rtm->rtm_family, &gw) < 0)
		return 0;
	c->fn(&gw, (int)oif, c->ctx);
	return 0;
}

int net_gateway_dump(net_gateway_fn fn, void *ctx)
{
	struct gateway_dump_ctx c = { .fn = fn, .ctx = ctx };

	return route_dump(gateway_dump_cb, &c);
}

struct route_path_ctx {
	struct inet_prefix addr;
	int avoid;
	int found, ifindex;
	unsigned plen;
	uint32_t metric;
	struct inet_prefix *gateway;
};

static int route_path_cb(const struct nlmsghdr *nh, void *arg)
{
	struct route_path_ctx *c = arg;
	const struct rtattr *tb[RTA_MAX + 1];
	const struct rtmsg *rtm;
	struct inet_prefix dst;
	uint32_t oif, metric = 0;
	uint8_t protocol;

	if (route_entry(nh, &dst, &oif, &protocol) < 0 || route_parse(nh, &rtm, tb) < 0)
		return 0;
	/* Ours (a pin, an exclude: maybe of the path we are leaving), the
	 * tunnel's, or one whose link is gone are not the path. */
	if (protocol == RTPROT_SSHTUN || (int)oif == c->avoid || dst.family != c->addr.family ||
	    (rtm->rtm_flags & (RTNH_F_DEAD | RTNH_F_LINKDOWN)) || !inet_prefix_overlaps(&dst, &c->addr))
		return 0;
	rta_u32(tb[RTA_PRIORITY], &metric);
	if (c->found && (dst.plen < c->plen || (dst.plen == c->plen && metric >= c->metric)))
		return 0;
	c->found = 1;
	c->plen = dst.plen;
	c->metric = metric;
	c->ifindex = (int)oif;
	if (rta_addr(tb[RTA_GATEWAY], rtm->rtm_family, c->gateway) < 0)
		memset(c->gateway, 0, sizeof(*c->gateway));
	return 0;
}

int net_route_path(const struct inet_prefix *addr, int avoid_ifindex, int *ifindex,
		   struct inet_prefix *gateway)
{
	struct route_path_ctx c = { .avoid = avoid_ifindex, .gateway = gateway };
	int err;

	if (!prefix_ok(addr) || !ifindex || !gateway)
		return -EINVAL;
	c.addr = *addr;
	c.addr.plen = addr_len(addr->family) * 8;
	err = route_dump(route_path_cb, &c);
	if (err < 0)
		return err;
	if (!c.found)
		return -ENETUNREACH;
	*ifindex = c.ifindex;
	return 0;
}

int net_watch_open(void)
{
	struct sockaddr_nl me = {
		.nl_family = AF_NETLINK,
		.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR |
			     RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE,
	};
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* A new address worth connecting from: one of global scope whose duplicate
 * address detection is over (a tentative one cannot be bound yet). */
static bool usable_new_addr(const struct nlmsghdr *nh)
{
	const struct ifaddrmsg *ifa = NLMSG_DATA(nh);

	if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*ifa)))
		return false;
	return ifa->ifa_scope == RT_SCOPE_UNIVERSE && !(ifa->ifa_flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED));
}

int net_watch_drain(int fd, bool *new_addr)
{
	union {
		struct nlmsghdr nh;
		char buf[NL_RECV_MAX];
	} rx;
	int changes = 0;

	if (new_addr)
		*new_addr = false;
	for (;;) {
		struct sockaddr_nl from;
		struct iovec iov = { rx.buf, sizeof(rx.buf) };
		struct msghdr msg = {
			.msg_name = &from, .msg_namelen = sizeof(from),
			.msg_iov = &iov, .msg_iovlen = 1,
		};
		ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT);
		const struct nlmsghdr *nh;
		int len;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* ENOBUFS: the kernel dropped some; something changed,
			 * maybe an address came. */
			if (errno == ENOBUFS) {
				changes++;
				if (new_addr)
					*new_addr = true;
			}
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS ? changes : -errno;
		}
		if (n == 0)
			return changes;
		/* Only the kernel's multicasts count; anyone may send to us. */
		if (msg.msg_namelen != sizeof(from) || from.nl_pid != 0)
			continue;
		len = (int)n;
		for (nh = &rx.nh; nl_ok(nh, len); nh = NLMSG_NEXT(nh, len)) {
			switch (nh->nlmsg_type) {
			case RTM_NEWADDR:
				if (new_addr && usable_new_addr(nh))
					*new_addr = true;
				changes++;
				break;
			case RTM_NEWLINK: case RTM_DELLINK: case RTM_DELADDR:
			case RTM_NEWROUTE: case RTM_DELROUTE:
				changes++;
				break;
			}
		}
		if (msg.msg_flags & MSG_TRUNC)
			changes++;
	}
}

int net_addr_present(const struct inet_prefix *addr)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, rc;

	if (!prefix_ok(addr))
		return -EINVAL;
	memset(&ss, 0, sizeof(ss));
	if (addr->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_addr = addr->addr.v4;
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = addr->addr.v6;
		len = sizeof(*sin6);
	}
	/* The kernel's own answer: binding to an address that is not ours
	 * fails with EADDRNOTAVAIL (port 0, nothing is taken). */
	fd = socket(addr->family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	rc = bind(fd, (struct sockaddr *)&ss, len) == 0 ? 1 : errno == EADDRNOTAVAIL ? 0 : -errno;
	close(fd);
	return rc;
}

struct table_used_ctx {
	uint32_t table;
	bool used;
};

static int table_route_cb(const struct nlmsghdr *nh, void *arg)
{
	struct table_used_ctx *c = arg;
	const struct rtattr *tb[RTA_MAX + 1];
	const struct rtmsg *rtm;
	uint32_t table;

	if (route_parse(nh, &rtm, tb) < 0)
		return 0;
	table = rtm->rtm_table;
	rta_u32(tb[RTA_TABLE], &table);
	c->used |= table == c->table;
	return 0;
}

static int table_rule_cb(const struct nlmsghdr *nh, void *arg)
{
	struct table_used_ctx *c = arg;
	const struct rtattr *tb[FRA_MAX + 1];
	const struct fib_rule_hdr *frh;
	uint32_t table;

	if (nh->nlmsg_type != RTM_NEWRULE || nh->nlmsg_len < NLMSG_SPACE(sizeof(*frh)))
		return 0;
	frh = NLMSG_DATA(nh);
	nl_parse(tb, FRA_MAX, (const struct rtattr *)((const char *)frh + NLMSG_ALIGN(sizeof(*frh))),
		 (int)(nh->nlmsg_len - NLMSG_SPACE(sizeof(*frh))));
	table = frh->table;
	rta_u32(tb[FRA_TABLE], &table);
	c->used |= table == c->table;
	return 0;
}

int net_table_used(uint32_t table)
{
	struct table_used_ctx c = { .table = table };
	struct fib_rule_hdr *frh;
	struct nl_req req;
	int rc = route_dump(table_route_cb, &c);

	if (rc < 0 || c.used)
		return rc < 0 ? rc : 1;
	/* AF_UNSPEC: the rules of every family. */
	frh = nl_begin(&req, RTM_GETRULE, NLM_F_DUMP, sizeof(*frh));
	frh->family = AF_UNSPEC;
	rc = nl_talk(&req, table_rule_cb, &c);
	return rc < 0 ? rc : c.used;
}

uint32_t net_table_pick(uint32_t base, int ifindex)
{
	for (uint32_t i = 0; i < NET_TABLE_TRIES && ifindex > 0; i++) {
		uint32_t t = base + 1 + ((uint32_t)ifindex - 1 + i) % 0xffffu;
		int rc = net_table_used(t);

		if (rc == 0)
			return t;
		if (rc < 0)
			return 0;
	}
	return 0;
}
