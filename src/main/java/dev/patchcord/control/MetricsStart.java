package dev.patchcord.control;

import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/**
 * When and how a session's metrics endpoint ({@code Metrics}) starts listening. A fresh start
 * listens before the interface is made, so that a taken port fails the start early; a restart
 * cannot, since the running process holds the port until it has gone, so it listens after the
 * hand-over, and a failure there is only said. A step of {@link SessionBuilder}'s build.
 */
final class MetricsStart {

    private MetricsStart() {}

    /**
     * Listens now on a fresh start, or arranges for a restart to listen after the hand-over.
     * Either way the stop steps close what was opened.
     *
     * @param adopting whether the build takes over a running process ({@link Adoption})
     * @param opened receives the server opened now, for the build to close if it fails later
     * @return the server opened now, for the build to {@link MetricsServer#serve} once the
     *         device exists; null without {@code Metrics} or on a restart
     * @throws InterfaceSession.Failure when a fresh start cannot listen there
     */
    static MetricsServer listen(WgInterfaceSection iface, String ifname, boolean adopting, InterfaceSession session,
            PrintStream err, List<AutoCloseable> opened) {
        MetricsServer metrics = null;
        if (iface.metrics() != null && adopting) {
            // The running process still listens there: the port is free once it has gone.
            var late = new AtomicReference<MetricsServer>();
            session.afterHandover.add(() -> startLate(iface, ifname, session, late, err));
            session.onStop(() -> {
                MetricsServer m = late.get();
                if (m != null) {
                    m.close();
                }
            });
        } else if (iface.metrics() != null) {
            Endpoint at = Endpoint.parse(iface.metrics());
            try {
                metrics = new MetricsServer(new InetSocketAddress(InetAddress.ofLiteral(at.host()), at.port()), ifname);
            } catch (IOException e) {
                throw new InterfaceSession.Failure("Metrics = " + iface.metrics() + ": cannot listen there ("
                        + e.getMessage() + ")");
            }
            opened.add(metrics);
            session.onStop(metrics::close);
        }
        return metrics;
    }

    /**
     * The metrics endpoint of a successor, once the running process has gone and freed its
     * port; a failure is said, not fatal (the tunnel matters more than its figures).
     */
    private static void startLate(WgInterfaceSection iface, String ifname, InterfaceSession session,
            AtomicReference<MetricsServer> held, PrintStream err) {
        Endpoint at = Endpoint.parse(iface.metrics());
        try {
            MetricsServer m = new MetricsServer(new InetSocketAddress(InetAddress.ofLiteral(at.host()), at.port()), ifname);
            held.set(m);
            m.serve(session.configDevice());
        } catch (IOException e) {
            err.println("patchcord: " + ifname + ": Metrics = " + iface.metrics() + ": cannot listen there after the"
                    + " restart (" + e.getMessage() + ")");
        }
    }
}
