// Stand-in for src/platform in component tests: the IPC functions become
// vi.fn()s, the error normalisation (no Tauri inside) stays real.
import { vi } from 'vitest';
import * as errors from '../platform/errors';

export function createPlatformMock() {
  return {
    ...errors,
    storeInfo: vi.fn(),
    listSigningKeys: vi.fn(),
    createSigningKey: vi.fn(),
    retireSigningKey: vi.fn(),
    setProductSigningKey: vi.fn(),
    listProducts: vi.fn(),
    createProduct: vi.fn(),
    listPolicies: vi.fn(),
    createPolicy: vi.fn(),
    listLicenses: vi.fn(),
    issueLicense: vi.fn(),
    exportLicenseFile: vi.fn(),
    searchLicenses: vi.fn(),
    suspendLicense: vi.fn(),
    reinstateLicense: vi.fn(),
    revokeLicense: vi.fn(),
    renewLicense: vi.fn(),
    listAudit: vi.fn(),
    exportAuditCsv: vi.fn(),
    verifyAudit: vi.fn(),
    dashboard: vi.fn(),
    listCustomers: vi.fn(),
    previewActivation: vi.fn(),
    activateFromRequest: vi.fn(),
    activateMachine: vi.fn(),
    exportMachineFile: vi.fn(),
    deactivateMachine: vi.fn(),
    transferMachine: vi.fn(),
    listMachines: vi.fn(),
    importDeactivationReceipt: vi.fn(),
    simulateValidation: vi.fn(),
    saveDialog: vi.fn(),
    copyText: vi.fn(),
    uiReady: vi.fn().mockResolvedValue(undefined),
  };
}
