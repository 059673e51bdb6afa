package dev.patchcord.control;

import dev.patchcord.core.udptun.HostsException;
import dev.patchcord.device.WgTunnel;

import java.io.IOException;
import java.io.PrintStream;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * Feeds {@link MeshPeers} from an interface's {@link MeshSettings}: the peers file, checked for
 * changes every second and read again at once on {@link #reload()} (SIGHUP); and the directory,
 * synced every {@code DirectoryInterval}, each sync preceded by a probe from the tunnel's socket.
 * A bad file or a failed sync is reported and the last good list stays in force.
 */
public final class MeshSources implements AutoCloseable {
    public static final String FILE = "peers file";
    public static final String DIRECTORY = "directory";
    private static final double FILE_CHECK_SECONDS = 1;

    private final MeshSettings settings;
    private final MeshPeers mesh;
    private final WgTunnel tunnel;
    private final String ifname;
    private final PrintStream err;
    private final DirectoryClient directory;
    private Refresher<List<MeshPeer>> fileRefresher;
    private Refresher<List<MeshPeer>> directoryRefresher;
    /** The file's bytes when last read, good or bad: an unchanged file is neither parsed nor reported again. */
    private byte[] lastFile;
    private PeerList.PeerListException lastFileError;
    private volatile String observed;

    public MeshSources(MeshSettings settings, byte[] privateKey, MeshPeers mesh, WgTunnel tunnel, String ifname,
            PrintStream err) throws ConfigException {
        this.settings = settings;
        this.mesh = mesh;
        this.tunnel = tunnel;
        this.ifname = ifname;
        this.err = err;
        if (settings.directory() != null) {
            javax.net.ssl.SSLContext ssl = null;
            if (settings.directoryCa() != null) {
                try {
                    ssl = CaTrust.context(Path.of(settings.directoryCa()), null);
                } catch (HostsException e) {
                    throw new ConfigException(ifname, 0, "DirectoryCA: " + e.getMessage());
                }
            }
            directory = new DirectoryClient(settings.directory(), privateKey, settings.directoryKey(), ssl);
        } else {
            directory = null;
        }
    }

    /**
     * Reads the peers file once (a missing or bad file at start is a configuration error, not
     * something to wait for), then starts watching it and syncing with the directory.
     */
    public void start() throws ConfigException {
        if (settings.peersFile() != null) {
            try {
                mesh.update(FILE, readFile());
            } catch (Exception e) {
                throw new ConfigException(settings.peersFile(), 0, e.getMessage());
            }
            fileRefresher = new Refresher<>(this::readFile, this::installFile, FILE_CHECK_SECONDS, err, ifname, FILE);
            fileRefresher.start();
        }
        if (directory != null) {
            directoryRefresher = new Refresher<>(this::syncDirectory, l -> mesh.update(DIRECTORY, l),
                    settings.directoryIntervalSeconds(), err, ifname, "directory's table");
            Thread.ofVirtual().name("directory-first").start(() -> {
                directoryRefresher.refresh();
                directoryRefresher.start();
            });
        }
    }

    /** SIGHUP: the file again now, and a sync. */
    public void reload() {
        if (fileRefresher != null) {
            synchronized (this) {
                lastFile = null; // read and report the file again, even if it did not change
            }
            fileRefresher.refresh();
        }
        if (directoryRefresher != null) {
            directoryRefresher.refresh();
        }
    }

    /** Where the directory last saw this node, or null. */
    public String observed() {
        return observed;
    }

    /** The file's list; null (nothing to do) while its bytes are those read last time. */
    private List<MeshPeer> readFile() throws IOException, PeerList.PeerListException {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(Path.of(settings.peersFile()));
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(settings.peersFile() + ": no such file");
        }
        synchronized (this) {
            if (Arrays.equals(bytes, lastFile)) {
                if (lastFileError != null) {
                    throw lastFileError; // still the same bad file: the refresher says it only once
                }
                return null;
            }
            lastFile = bytes;
            try {
                List<MeshPeer> list = PeerList.parse(new String(bytes, java.nio.charset.StandardCharsets.UTF_8), true);
                lastFileError = null;
                return list;
            } catch (PeerList.PeerListException e) {
                lastFileError = e;
                throw e;
            }
        }
    }

    private void installFile(List<MeshPeer> list) {
        if (list != null) {
            mesh.update(FILE, list);
            err.println("patchcord: " + ifname + ": peers file read: " + list.size() + " peers");
        }
    }

    private List<MeshPeer> syncDirectory() throws Exception {
        InetSocketAddress to = new InetSocketAddress(InetAddress.getByName(settings.directory().getHost()),
                settings.directoryPort());
        tunnel.sendDatagram(directory.probe(System.currentTimeMillis()), to);
        Thread.sleep(50); // let the probe arrive first, so this sync already reports the observed endpoint
        DirectoryClient.Answer a = directory.sync(declaredEndpoints(), System.currentTimeMillis());
        if (!Objects.equals(a.observed(), observed)) {
            observed = a.observed();
            if (observed != null) {
                err.println("patchcord: " + ifname + ": the directory sees this node at " + observed);
            }
        }
        List<MeshPeer> peers = new ArrayList<>();
        for (MeshPeer p : a.peers()) {
            peers.add(p.persistentKeepalive() != 0 ? p : new MeshPeer(p.publicKey(), p.name(), p.allowedIps(),
                    p.endpoints(), MeshPeers.NAT_KEEPALIVE, p.relay()));
        }
        return peers;
    }

    /**
     * This host's own addresses with the tunnel's port, IPv4 first: how nodes on the same network
     * reach it without going out through the NAT and back. The tunnel's own interface, loopback and
     * link-local addresses are left out.
     */
    private List<Endpoint> declaredEndpoints() throws SocketException {
        int port = tunnel.socket().port();
        List<Endpoint> v4 = new ArrayList<>(), v6 = new ArrayList<>();
        for (NetworkInterface ni : Collections.list(NetworkInterface.getNetworkInterfaces())) {
            if (!ni.isUp() || ni.isLoopback() || ni.getName().equals(ifname)) {
                continue;
            }
            for (InetAddress a : Collections.list(ni.getInetAddresses())) {
                if (a.isLinkLocalAddress() || a.isLoopbackAddress() || a.isAnyLocalAddress()) {
                    continue;
                }
                String host = a.getHostAddress();
                int pct = host.indexOf('%');
                (a instanceof Inet6Address ? v6 : v4).add(new Endpoint(pct < 0 ? host : host.substring(0, pct), port));
            }
        }
        v4.addAll(v6);
        return v4.size() > PeerList.MAX_ENDPOINTS ? v4.subList(0, PeerList.MAX_ENDPOINTS) : v4;
    }

    @Override
    public void close() {
        if (fileRefresher != null) {
            fileRefresher.close();
        }
        if (directoryRefresher != null) {
            directoryRefresher.close();
        }
    }
}
