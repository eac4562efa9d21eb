package dev.cowfs.fuse;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MountOptionsTest {
    @Test
    void theBackendAndItsCacheAreChosenByName() {
        MountOptions defaults = MountOptions.defaults();
        boolean root = "root".equals(System.getProperty("user.name"));
        assertEquals(root ? MountOptions.Backend.KERNEL : MountOptions.Backend.LIBFUSE2, defaults.backend(),
                "the kernel server for root, who can mount(2)");
        assertEquals(root, defaults.allowOther(), "other users let in by the kernel server's default only");
        assertFalse(MountOptions.parse(List.of("backend=libfuse2")).allowOther(),
                "libfuse 2 keeps other users out unless asked");
        MountOptions kernel = MountOptions.parse(List.of("ro,backend=kernel", "cache=writethrough"));
        assertEquals(MountOptions.Backend.KERNEL, kernel.backend());
        assertEquals(MountOptions.Cache.WRITETHROUGH, kernel.cache());
        assertTrue(kernel.readOnly());
        assertTrue(kernel.allowOther(), "the kernel backend lets other users in by default");
        assertFalse(MountOptions.parse(List.of("backend=kernel,noallow_other")).allowOther());
        assertEquals(MountOptions.Cache.WRITEBACK, MountOptions.parse(List.of("backend=kernel")).cache());
        assertNull(kernel.conflict());
    }

    @Test
    void badValuesAndOptionsOfTheOtherBackendAreRefusedByName() {
        IllegalArgumentException backend = assertThrows(IllegalArgumentException.class,
                () -> MountOptions.parse(List.of("backend=fuse3")));
        assertEquals("backend=fuse3: use backend=kernel or backend=libfuse2", backend.getMessage());
        IllegalArgumentException cache = assertThrows(IllegalArgumentException.class,
                () -> MountOptions.parse(List.of("cache=always")));
        assertEquals("cache=always: use cache=writeback, cache=writethrough or cache=none", cache.getMessage());
        assertEquals("cache= needs backend=kernel",
                MountOptions.parse(List.of("backend=libfuse2,cache=none")).conflict());
        assertEquals("noallow_other needs backend=kernel",
                MountOptions.parse(List.of("backend=libfuse2,noallow_other")).conflict());
        assertEquals("uring needs backend=kernel", MountOptions.parse(List.of("backend=libfuse2,uring")).conflict());
        assertTrue(MountOptions.parse(List.of("backend=kernel,uring")).uring());
        assertFalse(MountOptions.parse(List.of("backend=kernel")).uring());
    }
}
