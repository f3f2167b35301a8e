export type Screen = 'dashboard' | 'keys' | 'products' | 'policies' | 'licenses' | 'activation' | 'customers' | 'audit' | 'batch';
