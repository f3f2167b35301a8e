export type Screen = 'dashboard' | 'keys' | 'products' | 'policies' | 'licenses' | 'batch' | 'activation' | 'customers' | 'audit' | 'backup' | 'server' | 'settings';
