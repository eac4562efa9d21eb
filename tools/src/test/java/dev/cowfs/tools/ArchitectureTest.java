package dev.cowfs.tools;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.EvaluationResult;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The allowed dependencies between packages and modules (docs/ARCHITECTURE.md), checked on the compiled classes
 * of every module but the benchmarks: no package imports one above it, and nothing outside the engine reaches its
 * internals (btree, space, the superblock ring), only its public face.
 */
class ArchitectureTest {
    private static JavaClasses classes;

    @BeforeAll
    static void importClasses() {
        classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("dev.cowfs");
    }

    @Test
    void theClassesOfEveryModuleAreImported() {
        for (String pkg : new String[] {"dev.cowfs.engine.btree", "dev.cowfs.engine.space", "dev.cowfs.fs",
                "dev.cowfs.crash", "dev.cowfs.fuse", "dev.cowfs.tools"}) {
            assertTrue(classes.containPackage(pkg), pkg + " not on the test class path: the rules would hold vacuously");
        }
    }

    /** Each engine layer uses only the layers below it (the root package is the public face over all of them). */
    static final ArchRule ENGINE_LAYERS = layeredArchitecture().consideringOnlyDependenciesInAnyPackage("dev.cowfs..")
            .layer("Format").definedBy("dev.cowfs.engine.format..")
            .layer("Error").definedBy("dev.cowfs.engine.error..")
            .layer("Device").definedBy("dev.cowfs.engine.device..")
            .layer("Btree").definedBy("dev.cowfs.engine.btree..")
            .layer("Superblock").definedBy("dev.cowfs.engine.superblock..")
            .layer("Space").definedBy("dev.cowfs.engine.space..")
            .layer("Check").definedBy("dev.cowfs.engine.check..")
            .layer("Engine").definedBy("dev.cowfs.engine")
            .optionalLayer("Outside").definedBy("dev.cowfs.fs..", "dev.cowfs.crash..", "dev.cowfs.fuse..",
                    "dev.cowfs.tools..")
            .whereLayer("Format").mayNotAccessAnyLayer()
            .whereLayer("Error").mayOnlyAccessLayers("Format")
            .whereLayer("Device").mayOnlyAccessLayers("Format", "Error")
            .whereLayer("Btree").mayOnlyAccessLayers("Format", "Error", "Device")
            .whereLayer("Superblock").mayOnlyAccessLayers("Format", "Error", "Device", "Btree")
            .whereLayer("Space").mayOnlyAccessLayers("Format", "Error", "Device", "Btree", "Superblock")
            .whereLayer("Check").mayOnlyAccessLayers("Format", "Error", "Device", "Btree", "Superblock", "Space")
            .whereLayer("Engine").mayOnlyAccessLayers("Format", "Error", "Device", "Btree", "Superblock", "Space",
                    "Check")
            .whereLayer("Btree").mayOnlyBeAccessedByLayers("Superblock", "Space", "Check", "Engine")
            .whereLayer("Space").mayOnlyBeAccessedByLayers("Check", "Engine");

    @Test
    void engineLayersPointDown() {
        ENGINE_LAYERS.check(classes);
    }

    /** Above the engine: the filesystem, then the crash harness and the mount, then the tool. */
    static final ArchRule MODULE_LAYERS = layeredArchitecture().consideringOnlyDependenciesInAnyPackage("dev.cowfs..")
            .layer("Engine").definedBy("dev.cowfs.engine..")
            .layer("Send").definedBy("dev.cowfs.fs.send..")
            .layer("Fs").definedBy("dev.cowfs.fs")
            .layer("Nio").definedBy("dev.cowfs.fs.nio..")
            .layer("Crash").definedBy("dev.cowfs.crash..")
            .layer("Fuse").definedBy("dev.cowfs.fuse..")
            .layer("Tools").definedBy("dev.cowfs.tools..")
            .whereLayer("Engine").mayNotAccessAnyLayer()
            .whereLayer("Send").mayOnlyAccessLayers("Engine")
            .whereLayer("Fs").mayOnlyAccessLayers("Engine", "Send")
            .whereLayer("Nio").mayOnlyAccessLayers("Engine", "Fs")
            .whereLayer("Crash").mayOnlyAccessLayers("Engine", "Send", "Fs")
            .whereLayer("Fuse").mayOnlyAccessLayers("Engine", "Fs")
            .whereLayer("Tools").mayOnlyAccessLayers("Engine", "Send", "Fs", "Nio", "Crash", "Fuse");

    @Test
    void modulesPointDown() {
        MODULE_LAYERS.check(classes);
    }

    /** The superblock ring's reading and writing stay in the engine; its values (Superblock, RetainedGeneration) do not. */
    static final ArchRule RING_INSIDE = noClasses().that().resideOutsideOfPackage("dev.cowfs.engine..")
            .should().dependOnClassesThat().haveFullyQualifiedName("dev.cowfs.engine.superblock.SuperblockRing");

    @Test
    void theSuperblockRingIsReachedOnlyThroughTheStore() {
        RING_INSIDE.check(classes);
    }

    /** The same check declared the wrong way round must fail on these classes: the rules see real dependencies. */
    @Test
    void aDependencyAgainstTheDeclaredOrderIsReported() {
        EvaluationResult reversed = layeredArchitecture().consideringOnlyDependenciesInAnyPackage("dev.cowfs..")
                .layer("Engine").definedBy("dev.cowfs.engine..")
                .layer("Fs").definedBy("dev.cowfs.fs..")
                .whereLayer("Fs").mayNotAccessAnyLayer()
                .evaluate(classes);
        assertTrue(reversed.hasViolation(), "the filesystem's use of the engine went unseen");
        assertTrue(reversed.getFailureReport().toString().contains("dev.cowfs.fs.CowFileSystem"),
                "the report names the class");
    }
}
