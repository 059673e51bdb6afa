package dev.patchcord.control;

import dev.patchcord.cluster.ClusterStore;
import dev.patchcord.cluster.StoreException;
import dev.patchcord.cluster.StoreSettings;
import dev.patchcord.core.Cidr;
import dev.patchcord.core.wg.Keys;
import dev.patchcord.device.Offloads;
import dev.patchcord.device.WgTunnel;
import dev.patchcord.sys.SysException;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The start of a cluster hub ({@code Store}): the checks the file must pass, the backplane to
 * the other hubs, the store its clients come from, and the {@link ClusterHub} that joins them to
 * the tunnel. A step of {@link SessionBuilder}'s build, kept apart because only a hub needs it.
 */
final class ClusterStart {

    private ClusterStart() {}

    /**
     * Makes this interface one hub of a cluster. Its clients come from the store, its backplane
     * carries their traffic to and from the other hubs, and the kernel forwards between the two
     * interfaces (patchcord's own forwarding would not know which hub a client is on).
     *
     * @param devices, sockets, network what the backplane is opened on, as the interface was
     * @param opened receives each part opened, for the build to undo if it fails later
     * @throws InterfaceSession.Failure for a file a hub cannot run with, or a store or port it cannot open
     */
    static void start(WgConfig config, String ifname, InterfaceSession session, WgTunnel tunnel, Offloads offloads,
            SessionBuilder.Devices devices, SessionBuilder.Sockets sockets, HostNetwork network,
            PrintStream debug, PrintStream err, List<AutoCloseable> opened) throws SysException {
        WgInterfaceSection iface = config.interfaceSection();
        StoreSettings st = iface.store();
        if (st.backplane() == null) {
            throw new InterfaceSession.Failure("Store needs Backplane = HOST:PORT: where the other hubs of cluster "
                    + st.cluster() + " reach this one");
        }
        if (iface.tap() || iface.mesh() != null || iface.addressMode() != AddressMode.STATIC) {
            throw new InterfaceSession.Failure("Store (a cluster hub) works with a TUN interface and static addresses; "
                    + "not with TAP, a mesh, [Pool] or Address = auto");
        }
        String hubId = st.hubId() != null ? st.hubId() : ClusterHub.defaultHubId();
        int port = Endpoint.parse(st.backplane()).port();
        Backplane backplane;
        try {
            backplane = Backplane.open(ifname, port, iface.mtuOrDefault(), devices, sockets, network, offloads,
                    session.wakeup(), debug, err);
        } catch (SysException e) {
            throw new InterfaceSession.Failure("cannot open the backplane on UDP port " + port + ": " + e.getMessage());
        }
        opened.add(backplane);
        session.onStop(backplane::close);
        if (iface.hub()) {
            err.println("patchcord: " + ifname + ": Hub = true does not apply to a cluster hub: the kernel forwards "
                    + "between clients, here and through the backplane");
        }
        tunnel.setForwarding(false, iface.clientIsolation());
        if (iface.addresses().stream().anyMatch(a -> a.address() instanceof java.net.Inet6Address)
                && !Backplane.ipv6Forwarding()) {
            err.println("patchcord: " + ifname + ": IPv6 between the hubs' clients needs net.ipv6.conf.all.forwarding=1");
        }
        ClusterStore store;
        try {
            store = ClusterStore.openForHub(st);
        } catch (StoreException e) {
            throw new InterfaceSession.Failure(e.getMessage());
        }
        Set<String> fileKeys = new HashSet<>();
        config.peers().forEach(p -> fileKeys.add(Keys.toBase64(p.publicKey())));
        List<Cidr> filePrefixes = new ArrayList<>();
        config.peers().forEach(p -> filePrefixes.addAll(p.allowedIps()));
        ClusterHub hub = new ClusterHub(store, hubId, st.backplane(), session.node(), tunnel, backplane,
                new ClusterRoutes(ifname, backplane.ifname(), network, err), fileKeys, iface.addresses(), filePrefixes,
                err, ifname, System::nanoTime);
        opened.add(hub);
        hub.start();
        session.onStop(hub::close);
        session.cluster = hub;
    }
}
