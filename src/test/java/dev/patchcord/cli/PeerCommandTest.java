package dev.patchcord.cli;

import com.google.zxing.BinaryBitmap;
import com.google.zxing.DecodeHintType;
import com.google.zxing.RGBLuminanceSource;
import com.google.zxing.common.HybridBinarizer;
import com.google.zxing.qrcode.QRCodeReader;
import dev.patchcord.control.WgConfig;
import dev.patchcord.core.wg.Keys;
import dev.patchcord.core.wg.X25519;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code patchcord peer} on a server that is not running: the file is edited, the client's
 * configuration is printed, and its QR code (in the terminal and as PNG) decodes to exactly that
 * text. The live path through a running server is {@code e2e.PeerAddIT}.
 */
@Timeout(60)
class PeerCommandTest {
    @TempDir
    Path dir;

    private String serverKey;

    private Path server(String extra) throws Exception {
        byte[] priv = X25519.generatePrivate(new SplittableRandom(3));
        serverKey = Keys.toBase64(X25519.publicKey(priv));
        Path file = dir.resolve("pcpeertest0.conf");
        Files.writeString(file, "[Interface]\nPrivateKey = " + Keys.toBase64(priv) + "\nListenPort = 51820\n"
                + "Address = 10.8.0.1/24, fd00:8::1/64\n" + extra);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        return file;
    }

    /** Reads a QR code from an image whose pixels are given by {@code dark}. */
    private static String decode(int width, int height, java.util.function.BiPredicate<Integer, Integer> dark) throws Exception {
        int[] pixels = new int[width * height];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                pixels[y * width + x] = dark.test(x, y) ? 0xff000000 : 0xffffffff;
            }
        }
        var bitmap = new BinaryBitmap(new HybridBinarizer(new RGBLuminanceSource(width, height, pixels)));
        return new QRCodeReader().decode(bitmap, Map.of(DecodeHintType.CHARACTER_SET, "UTF-8")).getText();
    }

    /** The terminal rendering back to modules: a drawn half is light, a blank half dark. */
    private static String decodeTerminal(String art) throws Exception {
        List<String> rows = art.lines().toList();
        int width = rows.getFirst().length();
        int height = rows.size() * 2;
        int scale = 4;
        return decode(width * scale, height * scale, (px, py) -> {
            char c = rows.get(py / scale / 2).charAt(px / scale);
            boolean top = (py / scale) % 2 == 0;
            boolean light = c == '█' || (top ? c == '▀' : c == '▄');
            return !light;
        });
    }

    @Test
    void addPrintsAConfigWhoseQrCodesDecodeToExactlyIt() throws Exception {
        Path file = server("PublicEndpoint = vpn.example.com:51820\n");
        Path png = dir.resolve("alice.png");
        Path conf = dir.resolve("alice.conf");
        CliRun o = CliRun.of("peer", "add", file.toString(), "alice", "--png", png.toString(), "--output", conf.toString());
        assertThat(o.status()).as(o.err()).isZero();

        String config = Files.readString(conf);
        assertThat(o.out()).startsWith(config);
        assertThat(Files.getPosixFilePermissions(conf)).isEqualTo(PosixFilePermissions.fromString("rw-------"));
        WgConfig client = WgConfig.parse(config, "alice.conf");
        assertThat(client.interfaceSection().addresses()).extracting(Object::toString)
                .containsExactly("10.8.0.2/32", "fd00:8::2/128");
        assertThat(client.peers().getFirst().publicKeyBase64()).isEqualTo(serverKey);
        assertThat(client.peers().getFirst().presharedKey()).isNotNull();
        assertThat(config).contains("Endpoint = vpn.example.com:51820\n", "AllowedIPs = 10.8.0.0/24, fd00:8::/64\n",
                "PersistentKeepalive = 25\n");

        BufferedImage img = ImageIO.read(png.toFile());
        assertThat(decode(img.getWidth(), img.getHeight(), (x, y) -> (img.getRGB(x, y) & 0xffffff) == 0)).isEqualTo(config);
        assertThat(decodeTerminal(o.out().substring(config.length() + 1))).isEqualTo(config);

        // The server's file gained exactly that peer, under its name, with the same keys.
        WgConfig srv = WgConfig.parse(file);
        assertThat(srv.peers()).hasSize(1);
        String clientPublic = Keys.toBase64(X25519.publicKey(client.interfaceSection().privateKey()));
        assertThat(srv.peers().getFirst().publicKeyBase64()).isEqualTo(clientPublic);
        assertThat(Files.readString(file)).contains("# Name = alice\n").doesNotContain(Keys.toBase64(client.interfaceSection().privateKey()));
        assertThat(Files.getPosixFilePermissions(file)).isEqualTo(PosixFilePermissions.fromString("rw-------"));
    }

    @Test
    void theNextClientGetsTheNextAddressAndListAndRemoveWork() throws Exception {
        Path file = server("");
        assertThat(CliRun.of("peer", "add", file.toString(), "a", "--endpoint", "203.0.113.5", "--no-qr").status()).isZero();
        CliRun b = CliRun.of("peer", "add", file.toString(), "b", "--endpoint", "[2001:db8::5]:443", "--no-qr", "--no-psk",
                "--allowed-ips", "0.0.0.0/0,::/0", "--dns", "10.8.0.1");
        assertThat(b.status()).as(b.err()).isZero();
        assertThat(b.out()).contains("Address = 10.8.0.3/32, fd00:8::3/128\n", "Endpoint = [2001:db8::5]:443\n",
                "AllowedIPs = 0.0.0.0/0, ::/0\n", "DNS = 10.8.0.1\n").doesNotContain("PresharedKey", "█");
        CliRun a = CliRun.of("peer", "list", file.toString());
        assertThat(a.out().lines().map(l -> l.split("\t")[0])).containsExactly("a", "b");
        assertThat(a.out()).contains("10.8.0.2/32, fd00:8::2/128");

        assertThat(CliRun.of("peer", "remove", file.toString(), "a").status()).isZero();
        assertThat(CliRun.of("peer", "list", file.toString()).out().lines().map(l -> l.split("\t")[0])).containsExactly("b");
        // The freed address is the next one given out.
        CliRun c = CliRun.of("peer", "add", file.toString(), "c", "--endpoint", "203.0.113.5:51820", "--no-qr");
        assertThat(c.out()).contains("Address = 10.8.0.2/32, fd00:8::2/128\n");
    }

    @Test
    void mistakesAreOneLineAndChangeNothing() throws Exception {
        Path file = server("");
        String before = Files.readString(file);
        assertThat(CliRun.of("peer", "add", file.toString(), "x").err()).contains("--endpoint HOST:PORT");
        assertThat(CliRun.of("peer", "add", file.toString(), "bad name", "--endpoint", "h:1").err()).contains("letters, digits");
        assertThat(CliRun.of("peer", "add", file.toString(), "x", "--endpoint", "h:1", "--address", "10.8.0.1").err())
                .contains("10.8.0.1/32 is taken");
        assertThat(CliRun.of("peer", "remove", file.toString(), "nobody").err()).contains("no peer named 'nobody'");
        assertThat(Files.readString(file)).isEqualTo(before);
        assertThat(CliRun.of("peer", "add", file.toString(), "x", "--endpoint", "h:1", "--no-qr").status()).isZero();
        CliRun dup = CliRun.of("peer", "add", file.toString(), "x", "--endpoint", "h:1");
        assertThat(dup.status()).isEqualTo(1);
        assertThat(dup.err()).contains("already");
    }

    @Test
    void anEndpointListKeepsItsOrderAndEachEntryGetsTheListenPort() throws Exception {
        Path file = server("");
        CliRun o = CliRun.of("peer", "add", file.toString(), "multi", "--endpoint", "hub1.example.net, [2001:db8::7],hub2.example.net:443",
                "--no-qr");
        assertThat(o.status()).as(o.err()).isZero();
        assertThat(o.out()).contains("Endpoint = hub1.example.net:51820, [2001:db8::7]:51820, hub2.example.net:443\n");
        CliRun empty = CliRun.of("peer", "add", file.toString(), "other", "--endpoint", "a:1,,b:2");
        assertThat(empty.status()).isEqualTo(1);
        assertThat(empty.err()).contains("has an empty entry");
    }
}
