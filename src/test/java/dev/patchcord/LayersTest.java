package dev.patchcord;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

/**
 * The shell's layers, top to bottom: {@code cli → control → device → transport | tun → sys}, with
 * {@code core} (the sans-IO protocol and framing, kept so by {@code SansIoTest}) below them all.
 * A layer may use any layer below it and none above; {@code transport} and {@code tun} do not
 * know each other; {@code lab} (the demo's namespaces and traffic) is reachable only from the
 * command line. {@code cluster} (the hubs' shared store) sits beside {@code control}: the command
 * line and {@code control} may use it, and it uses nothing of patchcord but {@code core}. No two packages depend on each other, directly or around a cycle, and the
 * WireGuard core does not know address assignment.
 */
class LayersTest {
    private static JavaClasses classes;

    @BeforeAll
    static void importMainClasses() {
        classes = new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("dev.patchcord");
    }

    @Test
    void layersPointDown() {
        layeredArchitecture().consideringOnlyDependenciesInLayers()
                .layer("cli").definedBy("dev.patchcord.cli..")
                .layer("lab").definedBy("dev.patchcord.lab..")
                .layer("control").definedBy("dev.patchcord.control..")
                .layer("cluster").definedBy("dev.patchcord.cluster..")
                .layer("device").definedBy("dev.patchcord.device..")
                .layer("transport").definedBy("dev.patchcord.transport..")
                .layer("tun").definedBy("dev.patchcord.tun..")
                .layer("sys").definedBy("dev.patchcord.sys..")
                .layer("core").definedBy("dev.patchcord.core..")
                .whereLayer("cli").mayNotBeAccessedByAnyLayer()
                .whereLayer("lab").mayOnlyBeAccessedByLayers("cli")
                .whereLayer("control").mayOnlyBeAccessedByLayers("cli", "lab")
                .whereLayer("cluster").mayOnlyBeAccessedByLayers("cli", "lab", "control")
                .whereLayer("device").mayOnlyBeAccessedByLayers("cli", "lab", "control")
                .whereLayer("transport").mayOnlyBeAccessedByLayers("cli", "lab", "control", "device")
                .whereLayer("tun").mayOnlyBeAccessedByLayers("cli", "lab", "control", "device")
                .whereLayer("sys").mayOnlyBeAccessedByLayers("cli", "lab", "control", "device", "transport", "tun")
                .check(classes);
    }

    /** The WireGuard core knows nothing of patchcord's own messages beyond {@code ControlMessages}. */
    @Test
    void theProtocolCoreKnowsNoAddressAssignment() {
        noClasses().that().resideInAPackage("dev.patchcord.core.wg..")
                .should().dependOnClassesThat().resideInAPackage("dev.patchcord.core.assign..")
                .check(classes);
    }

    /** The store knows configuration values and core types only, never the packet path. */
    @Test
    void theClusterStoreUsesOnlyTheCore() {
        noClasses().that().resideInAPackage("dev.patchcord.cluster..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.patchcord.cli..", "dev.patchcord.lab..",
                        "dev.patchcord.control..", "dev.patchcord.device..", "dev.patchcord.transport..",
                        "dev.patchcord.tun..", "dev.patchcord.sys..")
                .check(classes);
    }

    /**
     * The etcd client (and gRPC, Netty, Vert.x under it) is named by the etcd store alone, so a
     * process without a configured store never loads it.
     */
    @Test
    void onlyTheEtcdStoreNamesTheEtcdClient() {
        noClasses().that().resideInAPackage("dev.patchcord..")
                .and().haveNameNotMatching("dev\\.patchcord\\.cluster\\.EtcdClusterStore(\\$.*)?")
                .should().dependOnClassesThat().resideInAnyPackage("io.etcd..", "io.grpc..", "io.vertx..", "io.netty..")
                .check(classes);
    }

    @Test
    void noPackageCycles() {
        slices().matching("dev.patchcord.(**)").should().beFreeOfCycles().check(classes);
    }
}
