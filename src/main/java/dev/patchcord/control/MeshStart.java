package dev.patchcord.control;

import dev.patchcord.core.Cidr;
import dev.patchcord.core.wg.Keys;
import dev.patchcord.device.WgTunnel;
import dev.patchcord.sys.Wakeup;

import java.io.PrintStream;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The start of a mesh ({@code PeersFile}, {@code Directory}): its sources of peers and the
 * once-a-second thread that punches holes and falls back to a relay. A step of
 * {@link SessionBuilder}'s build, kept apart because only a mesh needs it.
 */
final class MeshStart {

    private MeshStart() {}

    /**
     * Starts the peers from outside the file, applied live, with hole punching and relay fallback
     * checked once a second. SIGHUP reads the peers file again ({@link InterfaceSession#meshReload}).
     * The file's own peers and the prefixes routed for them are passed in, so that the mesh
     * leaves them as the file set them.
     *
     * @param opened receives the sources, for the build to close if it fails later
     * @throws InterfaceSession.Failure for a mesh setting that is not valid
     */
    static void start(WgConfig config, String ifname, InterfaceSession session, WgTunnel tunnel,
            PrintStream debug, PrintStream err, List<AutoCloseable> opened) {
        WgInterfaceSection iface = config.interfaceSection();
        Set<String> keys = new HashSet<>();
        Set<Cidr> routed = new HashSet<>();
        for (WgPeerSection ps : config.peers()) {
            keys.add(Keys.toBase64(ps.publicKey()));
            ps.allowedIps().forEach(c -> routed.add(c.network()));
        }
        MeshPeers mesh = new MeshPeers(session.node(), tunnel.endpoints(), ifname, iface.routes(), iface.routeTable(), keys, routed, err,
                debug, System::nanoTime);
        try {
            MeshSources sources = new MeshSources(iface.mesh(), iface.privateKey(), mesh, tunnel, ifname, err);
            sources.start();
            opened.add(sources::close);
            session.onStop(sources::close);
            session.meshReload = sources::reload;
        } catch (ConfigException e) {
            throw new InterfaceSession.Failure(e.getMessage());
        }
        Wakeup wakeup = session.wakeup();
        Thread.ofPlatform().name("mesh").daemon().start(() -> {
            while (!wakeup.signalled()) {
                mesh.tick();
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        session.mesh = mesh;
    }
}
