/**
 * The DDK's numbers: every flag, page type, PTE bit, control message and DPMI error code
 * the simulator uses, by its DDK name (VMM.INC 3.1, VMM.H 4.x, DPMI 1.0). Nothing here is
 * derived from options; sizes of the simulated machine live in config.ts and layout.ts.
 */

// ---- Page-allocator flags (_PageAllocate, _PageLock, _LinPageLock, _MapFreePhysReg …)
export const PageZeroInit = 0x00000001;
export const PageUseAlign = 0x00000002;
export const PageContig = 0x00000004;
export const PageFixed = 0x00000008;
export const PageDEBUGNulFault = 0x00000010;
export const PageZeroReInit = 0x00000020;
export const PageNoCopy = 0x00000040;
export const PageLocked = 0x00000080;
export const PageLockedIfDP = 0x00000100;
export const PageSetV86Pageable = 0x00000200;
export const PageClearV86Pageable = 0x00000400;
export const PageSetV86IntsLocked = 0x00000800;
export const PageClearV86IntsLocked = 0x00001000;
export const PageMarkPageOut = 0x00002000;
export const PagePDPSetBase = 0x00004000;
export const PagePDPClearBase = 0x00008000;
export const PageDiscard = 0x00010000;
export const PagePDPQueryDirty = 0x00020000;
export const PageMapFreePhysReg = 0x00040000;
export const PAGELOCKEDIFDP = PageLockedIfDP; // the Win95 spelling
export const PAGEPHYSONLY = 0x04000000;
export const PAGENOMOVE = 0x10000000;
export const PAGEMAPGLOBAL = 0x40000000;
export const PAGEMARKDIRTY = 0x80000000;

export const MAPV86_IGNOREWRAP = 1;

// ---- Page types (PG_*) and their PTE encoding in bits 9-11 (PgT_* = PG_* << 9)
export const PG_VM = 0;
export const PG_SYS = 1;
export const PG_RESERVED1 = 2;
export const PG_PRIVATE = 3;
export const PG_RESERVED2 = 4;
export const PG_RELOCK = 5;
export const PG_INSTANCE = 6;
export const PG_HOOKED = 7;
export const PG_IGNORE = 0xffffffff;
export const PG_TYPE = 0x00000e00;
export const PG_TYPE_SHIFT = 9;

// ---- Page-table-entry bits (x86 plus the VMM names)
export const P_PRES = 0x001;
export const P_WRITE = 0x002;
export const P_USER = 0x004;
export const P_PWT = 0x008;
export const P_PCD = 0x010;
export const P_ACC = 0x020;
export const P_DIRTY = 0x040;
export const P_AVAIL = P_PRES | P_WRITE | P_USER;
export const P_SIZE = 0x1000;
export const PAGESHIFT = 12;
export const PAGEMASK = 0xfff;

// ---- _Allocate_Global_V86_Data_Area / _Allocate_Temp_V86_Data_Area
export const GVDAWordAlign = 0x00000001;
export const GVDADWordAlign = 0x00000002;
export const GVDAParaAlign = 0x00000004;
export const GVDAPageAlign = 0x00000008;
export const GVDAInstance = 0x00000100;
export const GVDAZeroInit = 0x00000200;
export const GVDAReclaim = 0x00000400;
export const GVDAInquire = 0x00000800;
export const GVDAHighSysCritOK = 0x00001000;
export const GVDAOptInstance = 0x00002000;
export const GVDAForceLow = 0x00004000;
export const TVDANeedTilInitComplete = 0x00000001;

// ---- InstDataStruc.InstType
export const INDOS_FIELD = 0x100;
export const ALWAYS_FIELD = 0x200;
export const OPTIONAL_FIELD = 0x400;

// ---- Win95 sparse memory: _PageReserve arenas and flags, _PageCommit pagers and flags
export const PR_PRIVATE = 0x80000400;
export const PR_SHARED = 0x80060000;
export const PR_SYSTEM = 0x80080000;
export const PR_4MEG = 0x1;
export const PR_FIXED = 0x8;
export const PR_STATIC = 0x10;
export const PD_ZEROINIT = 1;
export const PD_NOINIT = 2;
export const PD_FIXEDZERO = 3;
export const PD_FIXED = 4;
export const PC_FIXED = 0x00000008;
export const PC_LOCKED = 0x00000080;
export const PC_LOCKEDIFDP = 0x00000100;
export const PC_WRITEABLE = 0x00020000;
export const PC_USER = 0x00040000;
export const PC_INCR = 0x40000000;
export const PC_PRESENT = 0x80000000;
export const PC_STATIC = 0x20000000;
export const PC_DIRTY = 0x08000000;

// ---- _PageQuery: MEMORY_BASIC_INFORMATION (28 bytes, seven ULONGs) and its values
export const MBI_SIZE = 28;
export const PAGE_NOACCESS = 0x01;
export const PAGE_READONLY = 0x02;
export const PAGE_READWRITE = 0x04;
export const MEM_COMMIT = 0x1000;
export const MEM_RESERVE = 0x2000;
export const MEM_FREE = 0x10000;
export const MEM_PRIVATE = 0x20000;

// ---- Linear arenas (Win95), as linear page numbers
export const DOS_ARENA_FIRST_PAGE = 0x00000;
export const PRIVATE_ARENA_FIRST_PAGE = 0x00400;
export const SHARED_ARENA_FIRST_PAGE = 0x80000;
export const SYSTEM_ARENA_FIRST_PAGE = 0xc0000;
export const SYSTEM_ARENA_END_PAGE = 0xffc00; // 4 GiB − 4 MiB, exclusive
export const V86_LAST_PAGE = 0x10f; // 1 MiB + HMA

// ---- _SetFreePhysRegCalBk requests
export const FREE_PHYS_REG_AVAILABLE = 0; // pages are available on the free list
export const FREE_PHYS_REG_NEEDED = 1; // pages are needed

// ---- System_Control messages
export const ControlMessage = {
  Sys_Critical_Init: 0x00,
  Device_Init: 0x01,
  Init_Complete: 0x02,
  Sys_VM_Init: 0x03,
  Sys_VM_Terminate: 0x04,
  System_Exit: 0x05,
  Sys_Critical_Exit: 0x06,
  Create_VM: 0x07,
  VM_Critical_Init: 0x08,
  VM_Init: 0x09,
  VM_Terminate: 0x0a,
  VM_Not_Executeable: 0x0b,
  Destroy_VM: 0x0c,
  Sys_VM_Terminate2: 0x24,
  System_Exit2: 0x25,
  Sys_Critical_Exit2: 0x26,
  VM_Terminate2: 0x27,
  VM_Not_Executeable2: 0x28,
  Destroy_VM2: 0x29,
} as const;
export type ControlMessageName = keyof typeof ControlMessage;

/** The system phase before the first control message (VMM_GetSystemInitState 0). */
export const PHASE_BEFORE_INIT = -1;

export const VNE_Crashed = 0x01;
export const VNE_Nuked = 0x02;
export const VNE_CreateFail = 0x04;
export const VNE_CrInitFail = 0x08;
export const VNE_InitFail = 0x10;
export const VNE_Closed = 0x20;

// ---- DPMI (Int 31h) error codes
export const DPMI_UNSUPPORTED_FUNCTION = 0x8001;
export const DPMI_INVALID_STATE = 0x8002;
export const DPMI_SYSTEM_INTEGRITY = 0x8003;
export const DPMI_DEADLOCK = 0x8004;
export const DPMI_REQUEST_CANCELLED = 0x8005;
export const DPMI_RESOURCE_UNAVAILABLE = 0x8010;
export const DPMI_DESCRIPTOR_UNAVAILABLE = 0x8011;
export const DPMI_LINEAR_MEMORY_UNAVAILABLE = 0x8012;
export const DPMI_PHYSICAL_MEMORY_UNAVAILABLE = 0x8013;
export const DPMI_BACKING_STORE_UNAVAILABLE = 0x8014;
export const DPMI_CALLBACK_UNAVAILABLE = 0x8015;
export const DPMI_HANDLE_UNAVAILABLE = 0x8016;
export const DPMI_LOCK_COUNT_EXCEEDED = 0x8017;
export const DPMI_INVALID_VALUE = 0x8021;
export const DPMI_INVALID_SELECTOR = 0x8022;
export const DPMI_INVALID_HANDLE = 0x8023;
export const DPMI_INVALID_CALLBACK = 0x8024;
export const DPMI_INVALID_LINEAR_ADDRESS = 0x8025;
export const DPMI_INVALID_REQUEST = 0x8026;

/** The failure value of services that return an address or a previous PTE. */
export const ERROR_DWORD = 0xffffffff;
