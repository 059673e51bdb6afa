package dev.patchcord.control;

import dev.patchcord.core.Cidr;
import dev.patchcord.sys.SysException;
import dev.patchcord.sys.Wakeup;
import dev.patchcord.tun.Link;
import dev.patchcord.tun.MtuWatch;

import java.util.List;
import java.util.function.IntConsumer;

/**
 * What an interface session asks of the host's network configuration: the link's MTU and state,
 * addresses, routes, DNS, and news of MTU changes. {@link #LINUX} is the kernel's (it needs
 * {@code CAP_NET_ADMIN}); a test gives one that records the calls instead, so that a session can
 * be built without root.
 */
public interface HostNetwork {

    void setMtu(String ifname, int mtu) throws SysException;

    void setUp(String ifname) throws SysException;

    void addAddress(String ifname, Cidr address) throws NetConfig.NetConfigException;

    void removeAddress(String ifname, Cidr address) throws NetConfig.NetConfigException;

    /** @param table the routing table, or null for the main one */
    void addRoutes(String ifname, List<Cidr> destinations, String table) throws NetConfig.NetConfigException;

    void removeRoutes(String ifname, List<Cidr> destinations, String table) throws NetConfig.NetConfigException;

    /** @return false if the host has no way to take them (nothing was changed) */
    boolean setDns(String ifname, List<String> servers, List<String> searchDomains) throws NetConfig.NetConfigException;

    void clearDns(String ifname) throws NetConfig.NetConfigException;

    /**
     * Calls {@code listener} with the interface's new MTU whenever it changes.
     *
     * @return what stops the watching
     */
    Runnable watchMtu(String ifname, Wakeup wakeup, IntConsumer listener) throws SysException;

    /**
     * Takes this process's addresses and routes off a persistent interface, which outlives the
     * process (a created one takes them along when it goes). Best effort: what is already gone,
     * or cannot be removed, is no reason to fail a stop.
     */
    default void unconfigure(String ifname, List<Cidr> addresses, List<Cidr> routes, String table) {
        try {
            removeRoutes(ifname, routes, table);
        } catch (NetConfig.NetConfigException ignored) {
            // a route the kernel already dropped
        }
        for (Cidr a : addresses) {
            try {
                removeAddress(ifname, a);
            } catch (NetConfig.NetConfigException ignored) {
                // never added (the start failed first) or removed by someone else
            }
        }
    }

    /** The kernel's configuration, through netlink, {@code ip} and resolvconf. */
    HostNetwork LINUX = new HostNetwork() {
        @Override
        public void setMtu(String ifname, int mtu) throws SysException {
            Link.setMtu(ifname, mtu);
        }

        @Override
        public void setUp(String ifname) throws SysException {
            Link.setUp(ifname);
        }

        @Override
        public void addAddress(String ifname, Cidr address) throws NetConfig.NetConfigException {
            NetConfig.addAddress(ifname, address);
        }

        @Override
        public void removeAddress(String ifname, Cidr address) throws NetConfig.NetConfigException {
            NetConfig.removeAddress(ifname, address);
        }

        @Override
        public void addRoutes(String ifname, List<Cidr> destinations, String table) throws NetConfig.NetConfigException {
            NetConfig.addRoutes(ifname, destinations, table);
        }

        @Override
        public void removeRoutes(String ifname, List<Cidr> destinations, String table)
                throws NetConfig.NetConfigException {
            NetConfig.removeRoutes(ifname, destinations, table);
        }

        @Override
        public boolean setDns(String ifname, List<String> servers, List<String> searchDomains)
                throws NetConfig.NetConfigException {
            return NetConfig.setDns(ifname, servers, searchDomains);
        }

        @Override
        public void clearDns(String ifname) throws NetConfig.NetConfigException {
            NetConfig.clearDns(ifname);
        }

        @Override
        public Runnable watchMtu(String ifname, Wakeup wakeup, IntConsumer listener) throws SysException {
            return MtuWatch.start(ifname, wakeup, listener)::close;
        }
    };
}
