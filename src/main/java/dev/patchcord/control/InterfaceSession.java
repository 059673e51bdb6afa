package dev.patchcord.control;

import dev.patchcord.core.wg.Node;
import dev.patchcord.device.WgTunnel;
import dev.patchcord.sys.Wakeup;
import dev.patchcord.transport.TcpTransport;
import dev.patchcord.transport.UdpSocket;
import dev.patchcord.tun.PacketDevice;

import java.util.ArrayList;
import java.util.List;

/**
 * An encrypted interface as {@link SessionBuilder} leaves it: configured, its peers known, its
 * configuration socket listening, but its loops not yet started. Whoever runs it starts the
 * {@link #tunnel()}, and on the way out runs the {@link #stopSteps()} in reverse order of their
 * registration, so that what came up last goes down first (PreDown before the socket closes,
 * PostDown after the interface is gone).
 */
public final class InterfaceSession {

    /** A problem the user can fix, met while building or stopping a session: said in one line, no trace. */
    public static final class Failure extends RuntimeException {
        public Failure(String message) {
            super(message);
        }
    }

    /** How the session asks its runner to stop (an address refused, the configuration socket deleted). */
    public interface Stop {
        boolean stopRequested();

        void requestStop();
    }

    private final List<Runnable> stopSteps = new ArrayList<>();
    private final String ifname;
    private final Node node;
    private final Wakeup wakeup;
    PacketDevice device;
    UdpSocket socket;
    WgTunnel tunnel;
    WgUapiDevice control;
    UapiDevice configDevice;
    UapiServer uapi;
    MeshPeers mesh;
    ClusterHub cluster;
    TcpTransport tcp;
    /** What a successor does once the running process has gone (publish the configuration socket, metrics). */
    final List<Runnable> afterHandover = new ArrayList<>();
    Runnable meshReload;
    String readyMessage;

    InterfaceSession(String ifname, Node node, Wakeup wakeup) {
        this.ifname = ifname;
        this.node = node;
        this.wakeup = wakeup;
    }

    /** Adds a step to run on stop; {@link #stopSteps()} keeps them in the order they were added. */
    void onStop(Runnable step) {
        stopSteps.add(step);
    }

    public String ifname() {
        return ifname;
    }

    public Node node() {
        return node;
    }

    /** Wakes the loops when the session stops. */
    public Wakeup wakeup() {
        return wakeup;
    }

    public PacketDevice device() {
        return device;
    }

    public UdpSocket socket() {
        return socket;
    }

    public WgTunnel tunnel() {
        return tunnel;
    }

    /** What {@code wg} and the metrics see: the running state as UAPI. */
    public WgUapiDevice control() {
        return control;
    }

    /**
     * What the configuration socket and a reload change: {@link #control()}, or for a cluster hub
     * the device that writes its clients' changes to the store.
     */
    public UapiDevice configDevice() {
        return configDevice;
    }

    /** The configuration socket, or null when it could not be made (said on standard error). */
    public UapiServer uapi() {
        return uapi;
    }

    /** The peers from a peers file or a directory, or null without either. */
    public MeshPeers mesh() {
        return mesh;
    }

    /** WireGuard over TCP, or null without it. */
    public TcpTransport tcp() {
        return tcp;
    }

    /**
     * Runs what waited for the running process to go, in a successor of a restart: the
     * configuration socket takes its public name, and the metrics their port.
     */
    public void afterHandover() {
        afterHandover.forEach(Runnable::run);
        afterHandover.clear();
    }

    /** The cluster hub this interface is, or null without a {@code Store}. */
    public ClusterHub cluster() {
        return cluster;
    }

    /** Reads the mesh's peers file again (SIGHUP), or null without a mesh. */
    public Runnable meshReload() {
        return meshReload;
    }

    /** The line that says the interface is up: its name, MTU, key, port, peers and offloads. */
    public String readyMessage() {
        return readyMessage;
    }

    /** The clean-up steps in the order they were registered; run them last first. */
    public List<Runnable> stopSteps() {
        return List.copyOf(stopSteps);
    }

    /**
     * Runs every stop step, last registered first, for a session whose loops never started or
     * have stopped. A step that fails does not keep the later ones from running.
     *
     * @throws Failure the first step's failure, once all have run
     */
    public void close() {
        Failure first = null;
        for (int i = stopSteps.size() - 1; i >= 0; i--) {
            try {
                stopSteps.get(i).run();
            } catch (Failure e) {
                first = first == null ? e : first;
            }
        }
        stopSteps.clear();
        if (first != null) {
            throw first;
        }
    }
}
