export type Screen = 'dashboard' | 'keys' | 'products' | 'policies' | 'licenses' | 'customers' | 'audit';
